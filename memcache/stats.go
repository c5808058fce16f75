package memcache

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// readItemSizeMax asks the server at addr for its item_size_max with
// "stats settings" over a connection of its own: gomemcache offers no
// settings call and keeps its connections private.
func readItemSizeMax(ctx context.Context, addr net.Addr, timeout time.Duration) (int, error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.DialContext(ctx, addr.Network(), addr.String())
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	// The context ends the call by closing the connection, not through the
	// deadline: that way an early end always reports ctx's own error.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	n, err := parseItemSizeMax(conn)
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return 0, ctxErr
	}
	return n, err
}

// parseItemSizeMax sends "stats settings" on conn and returns the
// item_size_max it reports.
func parseItemSizeMax(conn net.Conn) (int, error) {
	if _, err := conn.Write([]byte("stats settings\r\n")); err != nil {
		return 0, err
	}
	r := bufio.NewReader(conn)
	n := -1
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return 0, err
		}
		line = strings.TrimSuffix(line, "\r\n")
		if line == "END" {
			break
		}
		if v, ok := strings.CutPrefix(line, "STAT item_size_max "); ok {
			if n, err = strconv.Atoi(v); err != nil || n <= 0 {
				return 0, fmt.Errorf("bad item_size_max %q", v)
			}
			continue
		}
		if !strings.HasPrefix(line, "STAT ") {
			return 0, fmt.Errorf("unexpected reply to stats settings: %q", line)
		}
	}
	if n < 0 {
		return 0, fmt.Errorf("stats settings has no item_size_max")
	}
	return n, nil
}

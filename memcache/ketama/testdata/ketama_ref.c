/*
 * ketama_ref asks libmemcached which server each key belongs to. The ketama
 * tests build it against the system's libmemcached and compare its answers
 * with the Go selector's. No server needs to run: hashing never connects.
 *
 * Usage: ketama_ref MODE HOST PORT WEIGHT [HOST PORT WEIGHT]... < keys
 *
 * MODE "weighted" sets MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (libketama
 * compatible); MODE "ketama" sets MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA
 * with the MD5 key hash, which turns weighted once a weight exceeds 1. A
 * HOST starting with "/" is added as a unix socket.
 *
 * Prints "server INDEX NAME PORT" for each server as libmemcached holds it,
 * then one server index per key line read from stdin.
 */
#include <libmemcached/memcached.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check(memcached_st *memc, memcached_return_t rc, const char *what) {
  if (memcached_failed(rc)) {
    fprintf(stderr, "%s: %s\n", what, memcached_last_error_message(memc));
    return 0;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 5 || (argc - 2) % 3 != 0) {
    fprintf(stderr, "usage: %s MODE HOST PORT WEIGHT [HOST PORT WEIGHT]...\n", argv[0]);
    return 2;
  }
  memcached_st *memc = memcached_create(NULL);
  if (memc == NULL) {
    fprintf(stderr, "memcached_create failed\n");
    return 1;
  }
  if (strcmp(argv[1], "weighted") == 0) {
    if (!check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1),
               "KETAMA_WEIGHTED"))
      return 1;
  } else if (strcmp(argv[1], "ketama") == 0) {
    if (!check(memc,
               memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                                      MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA),
               "DISTRIBUTION"))
      return 1;
    if (!check(memc, memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_HASH, MEMCACHED_HASH_MD5),
               "HASH"))
      return 1;
  } else {
    fprintf(stderr, "unknown mode %s\n", argv[1]);
    return 2;
  }

  for (int i = 2; i + 2 < argc; i += 3) {
    const char *host = argv[i];
    in_port_t port = (in_port_t) atoi(argv[i + 1]);
    uint32_t weight = (uint32_t) strtoul(argv[i + 2], NULL, 10);
    memcached_return_t rc;
    if (host[0] == '/') {
      rc = memcached_server_add_unix_socket_with_weight(memc, host, weight);
    } else {
      rc = memcached_server_add_with_weight(memc, host, port, weight);
    }
    if (!check(memc, rc, host))
      return 1;
  }

  uint32_t count = memcached_server_count(memc);
  for (uint32_t i = 0; i < count; i++) {
    const memcached_instance_st *in = memcached_server_instance_by_position(memc, i);
    printf("server %u %s %u\n", i, memcached_server_name(in), (unsigned) memcached_server_port(in));
  }

  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[n - 1] == '\n')
      n--;
    printf("%u\n", memcached_generate_hash(memc, line, (size_t) n));
  }
  free(line);
  memcached_free(memc);
  return 0;
}

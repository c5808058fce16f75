package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/leancache/leancache/examples/genclient/weather"
)

// fakeAPI serves the weather API from memory and counts the requests that
// reach it by path: what a cache saves is what these counts do not show.
type fakeAPI struct {
	mu       sync.Mutex
	requests map[string]int // guarded by mu
	receipts int            // guarded by mu
}

func newFakeAPI() *fakeAPI { return &fakeAPI{requests: map[string]int{}} }

// count returns how many requests for path have arrived.
func (f *fakeAPI) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[path]
}

// observedAt is the time of every fake observation, so outputs are stable.
var observedAt = time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC)

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests[r.URL.Path]++
	if r.URL.Path == "/report" {
		f.receipts++
	}
	receipt := f.receipts
	f.mu.Unlock()
	city := r.URL.Query().Get("city")
	if city == "Nowhere" {
		http.NotFound(w, r)
		return
	}
	var out any
	switch r.URL.Path {
	case "/current":
		out = weather.Conditions{City: city, TempC: float64(len(city)), Sky: "clear", ObservedAt: observedAt}
	case "/forecast":
		days, _ := strconv.Atoi(r.URL.Query().Get("days"))
		fc := weather.Forecast{City: city}
		for i := range days {
			fc.Days = append(fc.Days, weather.Day{Date: observedAt.AddDate(0, 0, i).Format(time.DateOnly), MinC: 2, MaxC: 9, RainP: 0.4})
		}
		out = fc
	case "/search":
		var req struct {
			Query   weather.Query          `json:"query"`
			Options []weather.SearchOption `json:"options"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out = []weather.City{{Name: req.Query.Name, Country: fmt.Sprint(len(req.Options))}}
	case "/history":
		out = []weather.Reading{{City: city, At: observedAt, TempC: 4}}
	case "/station":
		out = weather.Station{ID: r.URL.Query().Get("url"), Name: "station"}
	case "/extremes":
		out = struct{ Low, High float64 }{-20, 35}
	case "/alerts":
		out = []weather.Alert{{City: "Oslo", Severity: 1, Text: "wind"}, {City: "Paris", Severity: 3, Text: "storm"}}
	case "/report":
		out = map[string]string{"receipt": "r" + strconv.Itoa(receipt)}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

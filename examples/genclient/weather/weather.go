// Package weather is a stand-in for a third-party API client: a JSON-over-HTTP
// client with a dozen methods, written by someone else, that the service in
// examples/genclient wants to cache without maintaining a second copy of it.
// Nothing in it knows about caching.
package weather

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Client calls the weather API at BaseURL.
type Client struct {
	// BaseURL is the API's root, without a trailing slash.
	BaseURL string
	// HTTP is the client requests go through; nil means http.DefaultClient.
	HTTP *http.Client
}

// New returns a Client for the API at baseURL.
func New(baseURL string) *Client { return &Client{BaseURL: baseURL} }

// Conditions are the weather at a place right now.
type Conditions struct {
	City       string    `json:"city"`
	TempC      float64   `json:"temp_c"`
	Sky        string    `json:"sky"`
	ObservedAt time.Time `json:"observed_at"`
}

// Day is one day of a forecast.
type Day struct {
	Date  string  `json:"date"`
	MinC  float64 `json:"min_c"`
	MaxC  float64 `json:"max_c"`
	RainP float64 `json:"rain_p"`
}

// Forecast is the outlook for a city.
type Forecast struct {
	City string `json:"city"`
	Days []Day  `json:"days"`
}

// Query selects cities.
type Query struct {
	Name    string   `json:"name"`
	Country string   `json:"country,omitempty"`
	Near    *LatLon  `json:"near,omitempty"`
	Tags    []string `json:"tags,omitempty"`
}

// LatLon is a position in degrees.
type LatLon struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// SearchOption refines a search.
type SearchOption struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// City is a search result.
type City struct {
	Name    string `json:"name"`
	Country string `json:"country"`
}

// Reading is one past observation.
type Reading struct {
	City  string    `json:"city"`
	At    time.Time `json:"at"`
	TempC float64   `json:"temp_c"`
}

// Alert is a weather warning.
type Alert struct {
	City     string `json:"city"`
	Severity int    `json:"severity"`
	Text     string `json:"text"`
}

// Station is a measuring station, found by its URL.
type Station struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// An APIError is returned for a reply whose status is not 2xx.
type APIError struct {
	Status int
	Path   string
}

// Error names the path and the HTTP status.
func (e *APIError) Error() string {
	return fmt.Sprintf("weather: %s: HTTP %d", e.Path, e.Status)
}

// Current returns the conditions in city now.
func (c *Client) Current(ctx context.Context, city string) (Conditions, error) {
	var out Conditions
	err := c.get(ctx, "/current", url.Values{"city": {city}}, &out)
	return out, err
}

// Forecast returns the forecast for city, days days ahead.
func (c *Client) Forecast(ctx context.Context, city string, days int) (*Forecast, error) {
	var out Forecast
	if err := c.get(ctx, "/forecast", url.Values{"city": {city}, "days": {strconv.Itoa(days)}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Search finds cities matching q.
func (c *Client) Search(ctx context.Context, q Query, opts ...SearchOption) ([]City, error) {
	var out []City
	err := c.post(ctx, "/search", struct {
		Query   Query          `json:"query"`
		Options []SearchOption `json:"options"`
	}{q, opts}, &out)
	return out, err
}

// History returns the readings in city between from and to.
func (c *Client) History(ctx context.Context, city string, from, to time.Time) ([]Reading, error) {
	var out []Reading
	err := c.get(ctx, "/history", url.Values{"city": {city}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}, &out)
	return out, err
}

// Station returns the station at u.
func (c *Client) Station(ctx context.Context, u *url.URL) (Station, error) {
	var out Station
	err := c.get(ctx, "/station", url.Values{"url": {u.String()}}, &out)
	return out, err
}

// Extremes returns the lowest and highest temperatures on record in city.
func (c *Client) Extremes(ctx context.Context, city string) (lowC, highC float64, err error) {
	var out struct{ Low, High float64 }
	err = c.get(ctx, "/extremes", url.Values{"city": {city}}, &out)
	return out.Low, out.High, err
}

// Alerts returns the alerts that keep returns true for.
func (c *Client) Alerts(ctx context.Context, keep func(Alert) bool) ([]Alert, error) {
	var all, out []Alert
	if err := c.get(ctx, "/alerts", nil, &all); err != nil {
		return nil, err
	}
	for _, a := range all {
		if keep(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// Report submits a reading from a private station and returns the receipt
// the API gives for it.
func (c *Client) Report(ctx context.Context, r Reading) (receipt string, err error) {
	var out struct {
		Receipt string `json:"receipt"`
	}
	err = c.post(ctx, "/report", r, &out)
	return out.Receipt, err
}

// Units returns the unit system the client reports in.
func (c *Client) Units() string { return "metric" }

func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := c.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	return c.do(req, path, out)
}

func (c *Client) post(ctx context.Context, path string, body, out any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.BaseURL+path, bytes.NewReader(data))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, path, out)
}

func (c *Client) do(req *http.Request, path string, out any) error {
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &APIError{Status: resp.StatusCode, Path: path}
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

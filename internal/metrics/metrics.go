// Package metrics owns ArtStore's Prometheus metrics: the HTTP middleware
// that counts and times every request, and a wrapper of artstore.Element
// that counts uploads, downloads, bytes, durations and errors by kind, and
// reports each element's capacity.
package metrics

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/errs"
)

// Metrics is a registry with ArtStore's collectors.
type Metrics struct {
	reg *prometheus.Registry

	requests   *prometheus.CounterVec
	reqSeconds *prometheus.HistogramVec

	ops       *prometheus.CounterVec
	opSeconds *prometheus.HistogramVec
	errors    *prometheus.CounterVec
	bytes     *prometheus.CounterVec
}

// New returns a registry with the process, Go and ArtStore collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "artstore_http_requests_total", Help: "HTTP requests by route, method and status code.",
	}, []string{"route", "method", "code"})
	m.reqSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "artstore_http_request_duration_seconds", Help: "HTTP request durations by route and method.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"route", "method"})
	m.ops = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "artstore_element_operations_total", Help: "Storage element operations (upload, download, stat, update, delete, purge) by outcome.",
	}, []string{"element", "op", "outcome"})
	m.opSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "artstore_element_operation_duration_seconds", Help: "Durations of storage element uploads and other writes.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10),
	}, []string{"element", "op"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "artstore_element_errors_total", Help: "Storage element errors by operation and error kind.",
	}, []string{"element", "op", "kind"})
	m.bytes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "artstore_element_bytes_total", Help: "Bytes uploaded to (in) and downloaded from (out) storage elements.",
	}, []string{"element", "direction"})
	m.reg.MustRegister(m.requests, m.reqSeconds, m.ops, m.opSeconds, m.errors, m.bytes)
	return m
}

// Registry returns the underlying registry, for further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Middleware counts and times requests by their route pattern, so that
// file ids do not explode the label space.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.code)).Inc()
		m.reqSeconds.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
	})
}

// statusWriter records the status code. It passes ReadFrom through so that
// downloads keep using sendfile.
type statusWriter struct {
	http.ResponseWriter
	code        int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.code, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wroteHeader = true
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	w.wroteHeader = true
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(w.ResponseWriter, r)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// WatchCapacity reports the capacity and file count of el on every scrape.
func (m *Metrics) WatchCapacity(el artstore.Element) {
	info, _ := el.Info(context.Background())
	id := info.ElementID
	gauge := func(name, help string, labels prometheus.Labels, f func(artstore.ElementInfo) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, func() float64 {
			info, err := el.Info(context.Background())
			if err != nil {
				return -1
			}
			return f(info)
		}))
	}
	for _, kind := range []string{"total", "used", "available"} {
		gauge("artstore_element_capacity_bytes", "Storage element capacity in bytes (total 0 means unlimited; available -1 means unknown).",
			prometheus.Labels{"element": id, "kind": kind}, func(i artstore.ElementInfo) float64 {
				switch kind {
				case "total":
					return float64(i.Capacity.Total)
				case "used":
					return float64(i.Capacity.Used)
				}
				return float64(i.Capacity.Available)
			})
	}
	gauge("artstore_element_files", "Files stored in the storage element.", prometheus.Labels{"element": id},
		func(i artstore.ElementInfo) float64 { return float64(i.FileCount) })
	gauge("artstore_element_journal_seq", "Last sequence number of the element's journal.", prometheus.Labels{"element": id},
		func(i artstore.ElementInfo) float64 { return float64(i.LastSeq) })
}

// observe records the outcome of one element operation.
func (m *Metrics) observe(id, op string, start time.Time, err error) {
	outcome := "ok"
	if err != nil {
		outcome = "error"
		m.errors.WithLabelValues(id, op, errs.KindOf(err).String()).Inc()
	}
	m.ops.WithLabelValues(id, op, outcome).Inc()
	m.opSeconds.WithLabelValues(id, op).Observe(time.Since(start).Seconds())
}

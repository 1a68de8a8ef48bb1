package catalog_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artstore/artstore/internal/artstore"
	"github.com/artstore/artstore/internal/catalog"
	"github.com/artstore/artstore/internal/sqldb"
	"github.com/artstore/artstore/internal/testenv"
)

// The benchmark corpus: names, descriptions in English and Russian, tags,
// metadata, sizes and dates varied enough that words, filters and sorts
// select very different numbers of files.
var (
	english = strings.Fields(`report quarterly annual invoice contract budget forecast meeting minutes
		summary analysis proposal strategy marketing sales revenue expense payroll audit compliance
		policy procedure manual handbook training onboarding presentation roadmap release notes
		specification design architecture diagram schema migration backup archive scan photo
		receipt statement balance ledger tax declaration customer supplier partner vendor order
		shipment delivery warehouse inventory product catalogue pricing discount campaign survey
		feedback complaint incident outage postmortem security review assessment risk insurance
		claim lease property maintenance project milestone deliverable timeline resource allocation
		hiring interview candidate resume salary bonus benefit pension travel itinerary booking
		expense reimbursement certificate license permit regulation legal agreement amendment
		appendix draft final approved signed confidential internal external public memo letter`)
	russian = strings.Fields(`отчёт квартальный годовой счёт договор бюджет прогноз совещание протокол
		сводка анализ предложение стратегия маркетинг продажи выручка расходы зарплата аудит
		политика процедура руководство обучение презентация выпуск спецификация проект схема
		резервная копия архив скан фотография квитанция выписка баланс налог декларация клиент
		поставщик партнёр заказ доставка склад инвентаризация продукт каталог цены скидка кампания
		опрос отзыв жалоба инцидент безопасность проверка оценка риск страхование аренда имущество
		обслуживание этап ресурсы найм собеседование кандидат резюме премия пенсия командировка
		бронирование сертификат лицензия разрешение юридический соглашение приложение черновик
		утверждённый подписанный конфиденциальный внутренний письмо служебная записка ёлка`)
	tagPool = strings.Fields(`finance legal hr sales marketing it ops security archive draft final
		signed urgent q1 q2 q3 q4 2023 2024 2025 client internal external public private review
		approved rejected pending scanned original copy template contract invoice photo video audio`)
	departments = strings.Fields(`finance legal hr sales marketing engineering support operations procurement logistics research board`)
	extTypes    = [][2]string{{"pdf", "application/pdf"}, {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}, {"txt", "text/plain"},
		{"csv", "text/csv"}, {"jpg", "image/jpeg"}, {"png", "image/png"}, {"mp4", "video/mp4"},
		{"zip", "application/zip"}, {"json", "application/json"}}
	accented = []string{"Résumé", "Café", "Naïve", "Crème", "Façade", "Über", "Ёлка", "Отчёт"}
)

const (
	benchFiles   = 100_000
	benchClients = 8
	benchQueries = 250 // per client and iteration
)

// The corpus follows natural text more than a uniform draw would: every
// description mixes topic words, drawn from a Zipf-like law so that a few
// appear in one file in six and most in about one in a hundred, with rare
// names (clients, places, products) from a large generated vocabulary.
// Queries pick their words uniformly, so broad and narrow words both occur.

// zipf draws ranks 0..n-1 with weight (rank+1)^-0.6.
type zipf struct{ cdf []float64 }

func newZipf(n int) *zipf {
	z := &zipf{cdf: make([]float64, n)}
	sum := 0.0
	for i := range n {
		sum += math.Pow(float64(i+1), -0.6)
		z.cdf[i] = sum
	}
	for i := range z.cdf {
		z.cdf[i] /= sum
	}
	return z
}

func (z *zipf) draw(r *rand.Rand) int {
	i, _ := slices.BinarySearch(z.cdf, r.Float64())
	return min(i, len(z.cdf)-1)
}

var (
	englishZipf, russianZipf = newZipf(len(english)), newZipf(len(russian))
	latinNames               = pseudoWords(3000, "bdfgklmnprstvz", "aeiou", 7)
	cyrillicNames            = pseudoWords(3000, "бвгдзклмнпрстф", "аеиоуяыё", 8)
)

// pseudoWords returns n distinct made-up words of two to four syllables.
func pseudoWords(n int, consonants, vowels string, seed uint64) []string {
	r := rand.New(rand.NewPCG(seed, seed))
	cs, vs := []rune(consonants), []rune(vowels)
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteRune(cs[r.IntN(len(cs))])
			b.WriteRune(vs[r.IntN(len(vs))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// benchFile returns the i-th file of the corpus.
func benchFile(i int, r *rand.Rand) *artstore.File {
	vocab, z, names := english, englishZipf, latinNames
	if r.IntN(3) == 0 {
		vocab, z, names = russian, russianZipf, cyrillicNames
	}
	word := func() string { return vocab[z.draw(r)] }
	entity := func() string { return names[r.IntN(len(names))] }
	et := extTypes[r.IntN(len(extTypes))]
	name := word() + "_" + entity()
	switch r.IntN(10) {
	case 0:
		name = accented[r.IntN(len(accented))] + " " + name
	case 1:
		name = strings.ToUpper(name)
	}
	name = fmt.Sprintf("%s_%d.%s", name, i, et[0])
	desc := make([]string, 4+r.IntN(9))
	for j := range desc {
		desc[j] = word()
	}
	for range 1 + r.IntN(3) {
		desc = append(desc, entity())
	}
	tags := make([]string, 1+r.IntN(4))
	for j := range tags {
		tags[j] = tagPool[r.IntN(len(tagPool))]
	}
	up := t0.Add(-time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour))))
	f := &artstore.File{
		FileID:           fmt.Sprintf("f%07d", i),
		OriginalFilename: name,
		StorageFilename:  fmt.Sprintf("f%07d", i),
		StoragePath:      up.Format("2006/01/02/15/"),
		Size:             int64(math.Exp(r.Float64()*math.Log(1e9/100))) * 100,
		ContentType:      et[1],
		Checksum:         strings.Repeat("ab", 32),
		UploadedBy:       fmt.Sprintf("svc-%02d", r.IntN(50)),
		UploadedAt:       up,
		UpdatedAt:        up,
		Description:      strings.Join(desc, " "),
		Tags:             tags,
		Metadata: map[string]any{
			"department": departments[r.IntN(len(departments))],
			"project":    fmt.Sprintf("p-%03d", r.IntN(200)),
			"year":       float64(2015 + r.IntN(11)),
			"priority":   r.IntN(5) == 0,
			"client":     entity(),
		},
		RetentionPolicy: artstore.Permanent,
		Version:         1,
	}
	if r.IntN(10) < 3 {
		f.RetentionPolicy = artstore.Temporary
		exp := up.Add(30 * 24 * time.Hour)
		f.ExpiresAt = &exp
	}
	return f
}

// loadBench fills c with the corpus, as journal pages from four elements.
func loadBench(b testing.TB, c *catalog.Catalog) time.Duration {
	start := time.Now()
	r := rand.New(rand.NewPCG(1, 2))
	elements := []string{"edit-01", "rw-01", "rw-02", "rw-03"}
	pages := map[string][]artstore.Change{}
	seqs := map[string]int64{}
	flush := func(el string) {
		if err := c.Apply(ctx, el, page("j-"+el, pages[el]...)); err != nil {
			b.Fatal(err)
		}
		pages[el] = pages[el][:0]
	}
	for i := range benchFiles {
		f := benchFile(i, r)
		el := elements[1+r.IntN(3)]
		if f.RetentionPolicy == artstore.Temporary {
			el = elements[0]
		}
		f.StorageElementID = el
		seqs[el]++
		pages[el] = append(pages[el], created(seqs[el], f))
		if len(pages[el]) == 1000 {
			flush(el)
		}
	}
	for _, el := range elements {
		if len(pages[el]) > 0 {
			flush(el)
		}
	}
	return time.Since(start)
}

// benchMix is the mix of searches the benchmark's clients issue, each kind
// with its share in percent. Somewhat under half are full text; the rest
// filter and sort, since applications mostly find their documents again by
// the metadata they stored with them. Words are drawn uniformly from the
// topic vocabulary, so that common and rare words come up alike.
var benchMix = []struct {
	name   string
	weight int
	fill   func(r *rand.Rand, q *catalog.Query)
}{
	{"word", 10, func(r *rand.Rand, q *catalog.Query) { q.Query = pick(r, english) }},
	{"prefix", 8, func(r *rand.Rand, q *catalog.Query) {
		w := []rune(pick(r, pick(r, [][]string{english, russian})))
		q.Query = strings.ToUpper(string(w[:min(len(w), 4+r.IntN(3))]))
	}},
	{"two words", 7, func(r *rand.Rand, q *catalog.Query) {
		vocab := pick(r, [][]string{english, russian})
		q.Query = pick(r, vocab) + " " + pick(r, vocab)
	}},
	{"name", 7, func(r *rand.Rand, q *catalog.Query) {
		q.Query = pick(r, pick(r, [][]string{latinNames, cyrillicNames}))
	}},
	{"word and filter", 8, func(r *rand.Rand, q *catalog.Query) {
		q.Query = pick(r, english)
		switch r.IntN(3) {
		case 0:
			q.FileExtension = "." + pick(r, extTypes)[0]
		case 1:
			q.Tags = []string{pick(r, tagPool)}
		default:
			q.StorageElementID = pick(r, []string{"rw-01", "rw-02", "rw-03"})
		}
	}},
	{"word by date", 4, func(r *rand.Rand, q *catalog.Query) { q.Query, q.SortBy = pick(r, russian), "uploaded_at" }},
	{"client", 8, func(r *rand.Rand, q *catalog.Query) { q.Metadata = map[string]string{"client": pick(r, latinNames)} }},
	{"department and year", 5, func(r *rand.Rand, q *catalog.Query) {
		q.Metadata = map[string]string{"department": pick(r, departments), "year": fmt.Sprint(2015 + r.IntN(11))}
	}},
	{"tags since", 7, func(r *rand.Rand, q *catalog.Query) {
		q.Tags = []string{pick(r, tagPool), pick(r, tagPool)}
		q.UploadedAfter = date(t0.AddDate(-1, 0, 0))
	}},
	{"uploader by name", 5, func(r *rand.Rand, q *catalog.Query) {
		q.UploadedBy, q.SortBy = fmt.Sprintf("svc-%02d", r.IntN(50)), "filename"
	}},
	{"extension by size", 5, func(r *rand.Rand, q *catalog.Query) {
		q.FileExtension, q.SortBy = strings.ToUpper(pick(r, extTypes)[0]), "size"
	}},
	{"images", 5, func(r *rand.Rand, q *catalog.Query) { q.ContentType = "image/" }},
	{"filename", 6, func(r *rand.Rand, q *catalog.Query) {
		w := pick(r, latinNames)
		q.Filename = w[:min(len(w), 3+r.IntN(4))]
	}},
	{"size on element", 5, func(r *rand.Rand, q *catalog.Query) {
		q.MinSize, q.MaxSize = i64(1<<20), i64(1<<24)
		q.StorageElementID = "rw-02"
	}},
	{"last month", 5, func(r *rand.Rand, q *catalog.Query) { q.UploadedAfter = date(t0.AddDate(0, -1, 0)) }},
	{"temporary by size", 5, func(r *rand.Rand, q *catalog.Query) {
		q.RetentionPolicy, q.SortBy, q.SortOrder = "temporary", "size", "asc"
	}},
}

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// benchQuery returns a query of the mix, and the index of its kind.
func benchQuery(r *rand.Rand) (int, catalog.Query) {
	n := r.IntN(100)
	kind := 0
	for n >= benchMix[kind].weight {
		n -= benchMix[kind].weight
		kind++
	}
	q := catalog.Query{Limit: pick(r, []int{20, 50, 100})}
	if r.IntN(8) == 0 {
		q.Offset = q.Limit * (1 + r.IntN(3))
	}
	benchMix[kind].fill(r, &q)
	return kind, q
}

// BenchmarkSearch100k loads 100,000 files, in journal pages of 1,000 entries
// as a follower applies them, then measures the latency of searches of the
// mix above from eight concurrent clients. It reports the loading rate and
// the latency percentiles of all searches, and logs them by kind.
func BenchmarkSearch100k(b *testing.B) {
	for _, d := range []struct {
		name string
		dsn  func(b *testing.B) string
	}{
		{"sqlite", func(b *testing.B) string { return filepath.Join(b.TempDir(), "catalog.db") }},
		{"postgres", func(b *testing.B) string { return testenv.Postgres(b) }},
	} {
		var (
			c    *catalog.Catalog
			took time.Duration
		)
		b.Run(d.name, func(b *testing.B) {
			// The benchmark function runs more than once unless -benchtime
			// says 1x; the corpus is loaded the first time only.
			if c == nil {
				db := openDB(b, d.dsn(b))
				c = open(b, db)
				took = loadBench(b, c)
				b.Logf("loaded %d files in %v", benchFiles, took.Round(time.Millisecond))
				settle(b, db)
			}
			b.ResetTimer()
			start := time.Now()
			byKind := make([][]time.Duration, len(benchMix))
			for range b.N {
				for k, l := range searchConcurrently(b, c) {
					byKind[k] = append(byKind[k], l...)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			// The latencies of each kind, p50/p95 in ms, a few to a line.
			var (
				lat     []time.Duration
				summary strings.Builder
			)
			for k, l := range byKind {
				slices.Sort(l)
				lat = append(lat, l...)
				if k%4 == 0 {
					summary.WriteString("\n")
				}
				fmt.Fprintf(&summary, "%-20s %5.1f/%5.1f   ", benchMix[k].name, percentile(l, 0.5), percentile(l, 0.95))
			}
			b.Logf("p50/p95 ms by kind:%s", summary.String())
			slices.Sort(lat)
			b.ReportMetric(percentile(lat, 0.50), "p50-ms")
			b.ReportMetric(percentile(lat, 0.95), "p95-ms")
			b.ReportMetric(percentile(lat, 0.99), "p99-ms")
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "searches/s")
			b.ReportMetric(benchFiles/took.Seconds(), "loaded-files/s")
		})
	}
}

// settle brings the database to the state a running system reaches on its
// own: statistics gathered, and on PostgreSQL the visibility map set, as
// autovacuum would after a bulk load.
func settle(b *testing.B, db *sqldb.DB) {
	stmt := "ANALYZE"
	if db.Dialect == sqldb.Postgres {
		stmt = "VACUUM ANALYZE cat_files, cat_docs"
	}
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		b.Fatal(err)
	}
}

// searchConcurrently runs benchQueries searches from each of benchClients
// clients and returns their latencies, by kind of search. Each search is
// the one the query service runs, which sends the stored JSON of the files
// on as it is.
func searchConcurrently(b *testing.B, c *catalog.Catalog) [][]time.Duration {
	var (
		mu  sync.Mutex
		all = make([][]time.Duration, len(benchMix))
		wg  sync.WaitGroup
	)
	for i := range benchClients {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			lat := make([][]time.Duration, len(benchMix))
			for range benchQueries {
				kind, q := benchQuery(r)
				start := time.Now()
				if _, err := c.SearchRaw(ctx, q); err != nil {
					b.Errorf("Search(%+v): %v", q, err)
					return
				}
				lat[kind] = append(lat[kind], time.Since(start))
			}
			mu.Lock()
			for k := range lat {
				all[k] = append(all[k], lat[k]...)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return all
}

// percentile returns the p-th percentile of sorted latencies in
// milliseconds.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[int(p*float64(len(sorted)-1))].Microseconds()) / 1000
}

# ArtStore: the two commands a newcomer needs are `make run` and `make test`.

GO ?= go

.PHONY: run build test test-race bench ci

## run: start every role on 127.0.0.1:8080 with data under ./artstore-data
run:
	$(GO) run ./cmd/artstore serve

## build: build the artstore binary into ./bin
build:
	$(GO) build -o bin/artstore ./cmd/artstore

## test: run every test; suites needing PostgreSQL or S3 run when
## ARTSTORE_TEST_POSTGRES / ARTSTORE_TEST_S3 / ARTSTORE_TEST_REDIS are set (as .ci/run sets them)
test:
	$(GO) test -count=1 -timeout 20m ./...

test-race:
	$(GO) test -count=1 -race -timeout 30m ./...

## bench: the performance figures (1 GiB transfers, small uploads, memory,
## upload-to-search latency, search over 100,000 files)
bench:
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 30m ./internal/e2e/
	$(GO) test -count=1 -run '^$$' -bench Search100k -benchtime 1x -timeout 30m ./internal/catalog/

## ci: what CI runs
ci:
	bash .ci/run

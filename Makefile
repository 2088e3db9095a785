# The two commands a newcomer needs; both install what is missing first.
.PHONY: run test lint

run:   ## build and serve on http://127.0.0.1:3000 (embedded SQLite in ./data)
	scripts/run.sh

test:  ## every test: unit, SQLite + PostgreSQL contract and REST, Playwright in Chromium
	scripts/test.sh

lint:  ## clippy -D warnings for the ssr and hydrate builds
	scripts/lint.sh

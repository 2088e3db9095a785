# The two commands a newcomer needs; both install what is missing first.
.PHONY: run demo test lint bench bench-smoke bench-instances bench-browser bench-lighthouse

run:   ## build and serve on http://127.0.0.1:3000 (embedded SQLite in ./data)
	scripts/run.sh

demo:  ## as run, on ./data/demo.db filled with a realistic sample (12 apps, 5 environments, 6 months)
	DATABASE_URL=sqlite://data/demo.db DEPLOYTRACK_DEMO=true scripts/run.sh

test:  ## every test: unit, SQLite + PostgreSQL contract and REST, fuzz, scale-out, Playwright in Chromium, lints
	scripts/test.sh

lint:  ## clippy -D warnings for the ssr and hydrate builds
	scripts/lint.sh

bench: ## load benchmark on both backends (see benches/README.md)
	scripts/bench.sh

bench-smoke: ## the benchmark in seconds (2,000 deployments, 20 applications, 1 s per run, one client, 45 freezes; Lighthouse on the dashboard only), as CI runs it
	BENCH_SIZES=2000 BENCH_APPLICATIONS=20 BENCH_SECONDS=1 BENCH_EIGHT=0 BENCH_CHANGE_VERSIONS=50 BENCH_FREEZES=45 PAGES=/ BENCH_OUT=target/bench-smoke scripts/bench.sh

bench-instances: ## requests/s through HAProxy with 1, 2 and 3 instances on one PostgreSQL (benches/README.md)
	scripts/bench-instances.sh

bench-browser: ## the dashboard in Chromium: bytes on the wire cold and warm, HTML size, time to hydrated
	scripts/bench-browser.sh

bench-lighthouse: ## Lighthouse 12.2.3 on five pages of the demo data, mobile and desktop presets (~2 min)
	scripts/bench-lighthouse.sh

# The two commands a newcomer needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-12)

.PHONY: demo test test-postgres lint bench browser libreoffice translations mutate clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

translations: $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d webapp/translations -l zh_Hans_CN >/dev/null

# Debian's Chromium drives the browser tests (Playwright cannot download its own here); a CJK font
# makes Chinese readable in screenshots.
browser:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi wqy; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; \
	fi

# Debian's LibreOffice (headless, no GUI) makes the PDF of every issued notice; poppler-utils' pdftotext lets the
# tests read those PDFs back. Without LibreOffice the system still runs and offers the .docx alone.
libreoffice:
	@if ! command -v soffice >/dev/null || ! command -v pdftotext >/dev/null; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libreoffice-writer-nogui poppler-utils >/dev/null; \
	fi

demo: $(STAMP) translations libreoffice
	$(BIN)/zyz demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

test: $(STAMP) translations browser libreoffice lint
	$(BIN)/pytest

test-postgres: $(STAMP) translations browser libreoffice
	ZYZ_TEST_DATABASE_URL=$${ZYZ_TEST_DATABASE_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test} $(BIN)/pytest

# Mutation testing of the rule core (slow; not part of `make test`): see "Mutation testing" in README.md.
mutate: $(STAMP) translations
	$(BIN)/pip install --quiet -e ".[test,mutate]"
	$(BIN)/python tests/mutation/run.py $(MODULES)

# bench_search.py, bench_evaluation_campaign.py, bench_lifecycle.py and bench_http.py also run on PostgreSQL when
# ZYZ_BENCH_POSTGRES_URL names a database they may empty; bench_scaleout.py runs only then, on the database
# zyz_bench_scaleout of that server.
bench: $(STAMP)
	@for script in bench/bench_*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts

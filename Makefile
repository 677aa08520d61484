# Nezuko — every target installs what it needs first.
PYTHON ?= python3.13
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install install-runtime lock test test-unit test-integration lint format clean demo run migrate bench bench-memory catalogs

install: $(STAMP)

# The venv is built from requirements.lock (every package, exact versions), then the project itself
# is installed in editable mode without resolving anything again.
$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check pip==26.3
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

# The bot alone, for production (the Dockerfile runs exactly these commands): the runtime
# dependencies at requirements.lock's versions, no test or lint tool, the project not editable.
install-runtime:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check pip==26.3
	$(BIN)/pip install --quiet --disable-pip-version-check --constraint requirements.lock .

# Re-resolve the direct pins of pyproject.toml into requirements.lock (needs the package index).
lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet pip==26.3
	.lock-venv/bin/pip install --quiet -e '.[dev]' setuptools==84.2.1
	.lock-venv/bin/pip freeze --exclude-editable --all | grep -v '^pip==' > requirements.lock
	rm -rf .lock-venv

# The whole story against the built-in Bot API sandbox and an embedded PostgreSQL; no token.
demo: $(STAMP)
	$(BIN)/nezuko demo

# The bot for real: TELEGRAM_BOT_TOKEN (and optionally DATABASE_URL, …) from the environment or .env.
run: $(STAMP)
	$(BIN)/nezuko run

migrate: $(STAMP)
	$(BIN)/nezuko migrate

# The workloads against the sandbox, with figures and targets (exit 1 on a missed one), then the
# tests marked `long` (minutes of real time each: the 90 s 429s, the 60 s database outage, …).
bench: $(STAMP)
	$(BIN)/python -m bench
	$(BIN)/pytest --long -m long tests/unit tests/integration

# The flat-memory run (issue 15): UPDATES=1000000 by default; see README, "make bench".
UPDATES ?= 1000000
bench-memory: $(STAMP)
	$(BIN)/python -m bench --memory --updates $(UPDATES)

test: $(STAMP)
	$(BIN)/pytest --cov --cov-report=term-missing:skip-covered tests/unit tests/integration
	@echo 'Branch coverage of the core (src/domain + src/application), gate 95 %:'
	$(BIN)/coverage report --include='src/domain/*,src/application/*' --skip-covered --fail-under=95

test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

test-integration: $(STAMP)
	$(BIN)/pytest tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The translation catalogs (README "Languages"): extract every text from the code into
# messages.pot, bring each language's .po in step with it (new ones are created), and give the
# English catalog its ids as texts. Translators then fill the empty or fuzzy entries in.
LOCALES   := src/adapters/telegram/locales
LANGUAGES := en es pt_BR ru uk tr ar fa hi id
catalogs: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg --add-location=file --sort-by-file \
		--add-comments=TRANSLATORS: --project=Nezuko --copyright-holder=Nezuko \
		-o $(LOCALES)/messages.pot src
	for lang in $(LANGUAGES); do \
		if [ -f $(LOCALES)/$$lang/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update --ignore-obsolete --init-missing -D messages \
				-i $(LOCALES)/messages.pot -d $(LOCALES) -l $$lang; \
		else \
			$(BIN)/pybabel init -D messages -i $(LOCALES)/messages.pot -d $(LOCALES) \
				-l $$lang; \
		fi; \
	done
	$(BIN)/python -m tools.catalogs

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage htmlcov

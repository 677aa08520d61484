# Nezuko: the bot alone (no test or lint tool), from requirements.lock.
# The install commands are `make install-runtime`'s; tests/integration/deploy/test_kit.py checks
# that they stay the same. Build: docker build -t nezuko .   Run: compose.yaml.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HTTP_HOST=0.0.0.0 HTTP_PORT=8080 LOG_FORMAT=json NEZUKO_DATA_DIR=/data
WORKDIR /app
RUN useradd --system --home-dir /app --shell /usr/sbin/nologin nezuko \
    && mkdir /data && chown nezuko /data

COPY pyproject.toml requirements.lock README.md LICENSE ./
COPY src ./src
RUN python3.13 -m venv .venv \
    && .venv/bin/pip install --quiet --disable-pip-version-check pip==26.3 \
    && .venv/bin/pip install --quiet --disable-pip-version-check --constraint requirements.lock .

USER nezuko
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD [".venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]
ENTRYPOINT [".venv/bin/nezuko"]
CMD ["run"]

# 吹哨 (Whistle). Build: docker build -t whistle .   Run: see compose.yaml.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY storage storage
RUN python -m venv /opt/venv && /opt/venv/bin/pip install .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 whistle && mkdir -p /data /app && chown whistle /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY config.toml ./
COPY bot/rules ./bot/rules
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    WHISTLE_STORAGE__DIR=/data \
    WHISTLE_MEDIA__DIR=/data/media \
    WHISTLE_DATABASE__URL=sqlite:////data/whistle.db
USER whistle
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
CMD ["whistle", "web", "--host", "0.0.0.0", "--port", "8000"]

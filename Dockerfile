# Engage, production image: gunicorn serving the app, static files collected at build time.
# The same image runs the web server, the Celery worker and beat (docker-compose.yml).

# Front-end packages (package-lock.json), served by the app itself under static/vendor/.
FROM node:20-slim AS front
WORKDIR /front
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund

FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ENGAGE_VAR_DIR=/app/var

RUN groupadd --system engage \
    && useradd --system --gid engage --home-dir /app --no-create-home --shell /usr/sbin/nologin engage

WORKDIR /app
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY . .
COPY --from=front /front/node_modules ./node_modules
# Collecting static files loads the production settings, which need a secret: this one
# exists only during the build and is never used to sign anything.
RUN DEBUG=0 SECRET_KEY=collectstatic-at-build-time-only python manage.py collectstatic --noinput \
    && mkdir -p /app/var/media \
    && chown -R engage:engage /app/var

USER engage
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# 2 x cores + 1 synchronous workers; TLS is terminated in front (SECURE_SSL_REDIRECT=0 there).
CMD ["sh", "-c", "exec gunicorn config.wsgi --bind 0.0.0.0:8000 --workers $((2 * $(nproc) + 1)) --worker-class sync --access-logfile -"]

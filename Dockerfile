FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/computehub
COPY requirements/runtime.lock ./requirements/
RUN pip install --require-hashes -r requirements/runtime.lock
COPY pyproject.toml README.md ./
COPY app ./app
COPY providers ./providers
COPY scrapers ./scrapers
COPY dashboards ./dashboards
COPY migrations ./migrations
RUN pip install --no-deps . && useradd --create-home computehub
USER computehub
EXPOSE 8000
CMD ["computehub", "run", "--host", "0.0.0.0", "--no-worker"]

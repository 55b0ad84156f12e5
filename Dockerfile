# The evidence service image: the API (evidence serve), the analysis workers (evidence worker)
# and the chain tools (ledger-node). The contract artifact is committed, so no Node.js here.
FROM python:3.11-slim-bookworm

# libgcrypt20 (already in the base image, named so it stays): its assembly SM3 is about a
# quarter faster than OpenSSL's, and SM3 sets the ceiling of ingest (domain/sm3.py)
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg libgcrypt20 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/evidence --create-home evidence

WORKDIR /opt/evidence
COPY pyproject.toml README.md ./
COPY evidence_service ./evidence_service
COPY evidence_verify ./evidence_verify
COPY contracts ./contracts
COPY ledger_node ./ledger_node
COPY video_pipeline ./video_pipeline
RUN pip install --no-cache-dir .

USER evidence
ENV EVIDENCE_VAR_DIR=/var/lib/evidence PYTHONUNBUFFERED=1
WORKDIR /var/lib/evidence
EXPOSE 8000
CMD ["evidence", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-demo"]

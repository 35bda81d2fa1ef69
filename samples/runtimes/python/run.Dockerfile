# Run environment of a Python program: python3 from Debian on the offline
# base. No build.Dockerfile: the artifacts are the source itself, mounted
# read-only at /app.
FROM judger/debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-minimal \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1
CMD ["python3", "/app/main.py"]

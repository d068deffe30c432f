# Dockerfile: `convbert serve` in a container (docs/serving.md, "Docker").
#   docker build -t convbert .
#   docker run --init -p 8080:8080 -e CONVBERT_MODEL=/models/m -v "$PWD/my-model:/models/m:ro" convbert
# The build stage compiles the native addon (when no prebuild fits) and the
# TypeScript; the runtime stage runs as the unprivileged `node` user under tini,
# so SIGTERM reaches node (the entrypoint exec's it) and zombies are reaped.
FROM node:20-bookworm-slim AS build
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
# `npm ci` builds the addon (install script) and dist/ (prepare); then the dev tools go.
RUN npm ci && npm prune --omit=dev \
  && rm -rf build/Release/obj.target build/Release/.deps && mkdir -p build prebuilds

FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/build ./build
COPY --from=build /app/prebuilds ./prebuilds
COPY --from=build /app/docker ./docker
ENV NODE_ENV=production \
    HF_HOME=/home/node/.cache/huggingface \
    CONVBERT_TASK=feature-extraction \
    CONVBERT_HOST=0.0.0.0 \
    CONVBERT_PORT=8080
USER node
EXPOSE 8080
# /health answers 200 while serving, 503 while draining; node's fetch, as the slim image has no curl.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CONVBERT_PORT || 8080) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "/app/docker/entrypoint.sh"]

# Coalition Hub: the hub as a container (see docs/container.md).
#   docker build -t coalition-hub .
#   docker run -e DATABASE_URL=postgres://… -e OPERATOR_JWKS='…' -p 4000:4000 coalition-hub
# or, with PostgreSQL and migrations: cp .env.example .env && docker compose up

# Build stage: every dependency (TypeScript included), then the one incremental build.
FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY partner-sdk/package.json partner-sdk/
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY partner-sdk/ partner-sdk/
COPY src/ src/
COPY migrations/ migrations/
COPY bench/ bench/
COPY examples/ examples/
COPY console/ console/
RUN npm run build

# Runtime stage: production dependencies and the built JavaScript only, run as the unprivileged `node` user.
FROM node:20-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000
WORKDIR /app
COPY package.json package-lock.json ./
COPY partner-sdk/package.json partner-sdk/
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/partner-sdk/dist/ partner-sdk/dist/
COPY --from=build /app/dist/ dist/
COPY bin/ bin/
# Only for a container run without DATABASE_URL (the embedded database keeps its data here; mount a volume).
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
EXPOSE 4000
# Ready = the database answers, migrations are current, the hub is not draining.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1's only process, so SIGTERM from `docker stop` reaches the hub's graceful shutdown.
CMD ["node", "dist/src/cli/main.js", "serve"]

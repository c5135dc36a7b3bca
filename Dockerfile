# Multi-stage: build with dev dependencies, run with production dependencies only, as a non-root user.
# `npm install --no-save` installs the locked versions (see .ci/run for why not `npm ci`).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-save --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-save --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# The node image's unprivileged user; the Deployment also sets runAsNonRoot and a read-only root fs.
USER 1000:1000
EXPOSE 8443
ENTRYPOINT ["node", "bin/placement-quota"]
CMD ["serve"]

# Mailhook's production image: the TypeScript sources compiled to dist/ at build time, run by plain
# Node with no TypeScript loader (less memory: Fly's smallest Machine has 256 MB).
# Node 22 LTS: Node 20 is past end of life and the AWS SDK drops it; the code needs Node >= 20.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 is native: a prebuilt binary is used when one matches, this toolchain otherwise.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# Compile, then drop the dev dependencies (TypeScript, tsx, the test tools) from node_modules.
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    SMTP_PORT=2525 \
    HTTP_PORT=3000
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json package-lock.json schema.sql schema.pg.sql ./
COPY bin ./bin
EXPOSE 2525 3000
# Fly mounts the volume owned by root at boot, after the image is built: hand the data folder to the
# unprivileged `node` user, then drop root before any mail (hostile input) is parsed.
ENTRYPOINT ["/bin/sh", "-c", "mkdir -p \"$DATA_DIR\" && chown node:node \"$DATA_DIR\" && exec setpriv --reuid=node --regid=node --init-groups -- \"$@\"", "entrypoint"]
# What `npm start` runs once built (bin/start.js picks dist/main.js), with heap limits for a 256 MB
# Machine and garbage collection on the main thread alone (a shared-cpu-1x Machine has one vCPU
# for GC helper threads to fight over; with two vCPUs drop --single-threaded-gc): README, "Memory";
# bench/memory.ts measures exactly these flags, on fly.toml's [[vm]] cpus. `npx mailhook …` runs the CLI.
CMD ["node", "--max-old-space-size=128", "--max-semi-space-size=8", "--single-threaded-gc", "dist/main.js"]

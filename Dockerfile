# Mailhook runs from its TypeScript sources through tsx, exactly as `npm start` does (package.json).
# Node 22 LTS: Node 20 is past end of life and the AWS SDK drops it; the code needs Node >= 20.
FROM node:22-bookworm-slim AS deps
WORKDIR /app
# better-sqlite3 is native: a prebuilt binary is used when one matches, this toolchain otherwise.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# tsx is a runtime dependency, so production installs still run the TypeScript entry point.
RUN npm ci --omit=dev

FROM node:22-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production \
    DATA_DIR=/data \
    SMTP_PORT=2525 \
    HTTP_PORT=3000
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json tsconfig.json schema.sql ./
COPY bin ./bin
COPY src ./src
EXPOSE 2525 3000
# Fly mounts the volume owned by root at boot, after the image is built: hand the data folder to the
# unprivileged `node` user, then drop root before any mail (hostile input) is parsed.
ENTRYPOINT ["/bin/sh", "-c", "mkdir -p \"$DATA_DIR\" && chown node:node \"$DATA_DIR\" && exec setpriv --reuid=node --regid=node --init-groups -- \"$@\"", "entrypoint"]
CMD ["node", "--import", "tsx", "src/main.ts"]

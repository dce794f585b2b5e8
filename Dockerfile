# syntax=docker/dockerfile:1
# rxsign agent with the SoftHSM demo card and the built-in Spine Security Broker simulator.
#
#   docker build -t rxsign .
#   docker run --rm rxsign                      # the demo, listening on the container's loopback only
#
# The agent listens on loopback only. To reach it from the host, it must listen beyond loopback, which needs
# the explicit unsafe switch — read README.md "Container" for what that exposes — and publish to the host's
# loopback only:
#
#   docker run --rm -e RXSIGN_HOST=0.0.0.0 -e RXSIGN_UNSAFE_LISTEN=1 -p 127.0.0.1:8730:8730 rxsign
#
# For a real card, mount the vendor's PKCS#11 module and the pcscd socket, set RXSIGN_MODULE and run `serve`.

# ---- build: compilers for the native PKCS#11 binding (pkcs11js), TypeScript, then production modules only
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
COPY bench ./bench
COPY softhsm ./softhsm
COPY packaging ./packaging
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: node, the card libraries and the tools the demo card setup uses; no compilers
FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends softhsm2 opensc openssl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/rxsign
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/bin ./bin
COPY --from=build /src/softhsm ./softhsm
COPY --from=build /src/packaging ./packaging
# The image's files belong to root and are read-only to the agent; the agent runs as the unprivileged
# `node` user of the base image, with its own state (audit log) and demo card in its home.
USER node
ENV HOME=/home/node \
    XDG_STATE_HOME=/home/node/.local/state \
    XDG_CONFIG_HOME=/home/node/.config \
    SOFTHSM2_CONF=/home/node/softhsm/softhsm2.conf
RUN umask 077 && node softhsm/setup.mjs /home/node/softhsm
EXPOSE 8730
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "bin/rxsign.js", "health"]
# the agent's Node flags (src/node-flags.ts)
CMD ["node", "--max-semi-space-size=4", "--max-old-space-size=256", "bin/rxsign.js", "demo"]

# rxsign agent with the SoftHSM demo card and the built-in Spine Security Broker simulator.
#   docker build -t rxsign . && docker run --rm -p 127.0.0.1:8730:8730 rxsign
# For a real card, mount the vendor's PKCS#11 module and pcscd socket, set RXSIGN_MODULE and run `serve`.
FROM node:20-bookworm-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends softhsm2 opensc xmlsec1 openssl python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/rxsign
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && node softhsm/setup.mjs /opt/rxsign/.rxsign/softhsm
ENV SOFTHSM2_CONF=/opt/rxsign/.rxsign/softhsm/softhsm2.conf RXSIGN_HOST=0.0.0.0
EXPOSE 8730
CMD ["node", "bin/rxsign.js", "demo"]

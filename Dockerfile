# One image for every runtime: Cloud Run (`telco serve`), Vertex AI pipeline steps
# (`telco pipeline step NAME`) and batch jobs. Node 24 runs the TypeScript sources directly.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

# The portal is built with the dev dependencies (Vite), and only its static output is kept.
FROM node:24-slim AS portal
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY portal ./portal
COPY cli/portal ./cli/portal
COPY platform ./platform
RUN npm run build:portal

FROM node:24-slim
# Listen on every interface: Cloud Run and Vertex AI reach the container from outside it (the
# default serving.host, 127.0.0.1, is for laptops). Vertex sets AIP_HTTP_PORT, which wins over PORT.
ENV NODE_ENV=production TELCO_HOME=/var/lib/telco PORT=8080 TELCO_SERVING__HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY platform ./platform
COPY mlops ./mlops
COPY llmops ./llmops
COPY data ./data
# Sources beside the build so the start-up freshness check (a content hash) finds it current.
COPY portal ./portal
COPY --from=portal /app/portal/dist ./portal/dist
RUN ln -s /app/bin/telco.ts /usr/local/bin/telco && mkdir -p /var/lib/telco && chown node:node /var/lib/telco
USER node
EXPOSE 8080
ENTRYPOINT ["telco"]
CMD ["serve"]

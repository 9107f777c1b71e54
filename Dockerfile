# One image for every runtime: Cloud Run (`telco serve`), Vertex AI pipeline steps
# (`telco pipeline step NAME`) and batch jobs. Node 24 runs the TypeScript sources directly.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production TELCO_HOME=/var/lib/telco PORT=8080
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY platform ./platform
COPY mlops ./mlops
COPY llmops ./llmops
COPY data ./data
RUN ln -s /app/bin/telco.ts /usr/local/bin/telco && mkdir -p /var/lib/telco && chown node:node /var/lib/telco
USER node
EXPOSE 8080
ENTRYPOINT ["telco"]
CMD ["serve"]

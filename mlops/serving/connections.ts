import type { Server } from "node:http";
import type { Socket } from "node:net";

/**
 * Caps the open sockets of an HTTP server without letting idle clients lock everyone out. Node's own
 * `server.maxConnections` refuses every new connection once the cap is reached, so 20,000 sockets that
 * never send a byte would keep /healthz unanswered until their idle timeout; here a new connection at
 * the cap first evicts the oldest socket that has not sent a request yet (an idle or slowloris client),
 * then the idle keep-alive sockets, and is refused only when every socket is busy with a request.
 * Written by hand: neither Node nor Fastify evicts (Node's closeIdleConnections skips sockets that
 * never sent anything).
 */
export class ConnectionGuard {
  readonly max: number;
  /** Open sockets. */
  open = 0;
  /** Connections evicted or refused at the cap since start. */
  evicted = 0;
  refused = 0;
  /** Sockets that have not sent a complete request head yet, oldest first (Set keeps insertion order). */
  private readonly waiting = new Set<Socket>();

  constructor(server: Server, max: number) {
    this.max = max;
    server.on("connection", (socket: Socket) => this.onConnection(server, socket));
    server.on("request", (req: { socket: Socket }) => {
      this.waiting.delete(req.socket);
    });
  }

  private onConnection(server: Server, socket: Socket): void {
    this.open++;
    this.waiting.add(socket);
    socket.once("close", () => {
      this.open--;
      this.waiting.delete(socket);
    });
    if (this.open <= this.max) return;
    for (const old of this.waiting) {
      if (old === socket) continue;
      this.waiting.delete(old);
      old.destroy();
      this.evicted++;
      return; // its "close" brings `open` back under the cap
    }
    server.closeIdleConnections();
    // The sockets it destroyed emit "close" in this loop turn's close phase, after the first
    // setImmediate: decide in the next turn.
    setImmediate(() =>
      setImmediate(() => {
        if (this.open > this.max && !socket.destroyed) {
          socket.destroy();
          this.refused++;
        }
      }),
    );
  }
}

/**
 * Readiness probe for services the harness starts on the host.
 *
 * Not for published container ports: docker-proxy accepts TCP connections there as soon as the
 * container starts, before the program inside listens, and then drops them.
 */
import * as net from "node:net";

/** True if a TCP connection to host:port is accepted (within 1 s). */
export function accepts(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host, port });
        const done = (ok: boolean) => {
            socket.destroy();
            resolve(ok);
        };
        socket.setTimeout(1000, () => done(false));
        socket.once("connect", () => done(true));
        socket.once("error", () => done(false));
    });
}

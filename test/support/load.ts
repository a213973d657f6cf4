/**
 * Client load on HAProxy while something happens to it (a reload, a certificate installed), counting every
 * request that did not get its answer: the measure of "no request lost".
 */
import * as http2 from "node:http2";
import * as https from "node:https";

/** Where the requests go and whom they trust. */
export interface HttpsTarget {
    /** The address HAProxy listens on. */
    address: string;
    port: number;
    /** The CA that signed the served certificates (PEM text); without one, any certificate is accepted. */
    ca?: string;
}

/**
 * One `GET /` over HTTPS with SNI and Host `domain`, on `agent`'s connection (false: a new one): undefined
 * when it answered 200, else what went wrong.
 */
export function httpsRequest(target: HttpsTarget, opts: { domain: string; agent: https.Agent | false; timeoutMs: number }): Promise<string | undefined> {
    return new Promise((resolve) => {
        const { domain, agent, timeoutMs } = opts;
        const req = https.get(
            {
                host: target.address,
                port: target.port,
                servername: domain,
                headers: { host: domain },
                path: "/",
                ca: target.ca,
                rejectUnauthorized: target.ca !== undefined,
                agent,
                timeout: timeoutMs,
            },
            (res) => {
                res.resume();
                res.on("end", () => resolve(res.statusCode === 200 ? undefined : `status ${res.statusCode}`));
                res.on("error", (error) => resolve(error.message));
            },
        );
        req.on("timeout", () => req.destroy(new Error("timeout")));
        req.on("error", (error) => resolve(error.message));
    });
}

/**
 * HTTPS requests from four concurrent clients until stopped (bounded to 20,000 requests or three
 * minutes): two open a new connection for every request, two keep theirs alive across requests, the
 * case where a reload can close an idle connection just as the client sends on it. The requests go to
 * `domains` in turn.
 */
export function startLoad(target: HttpsTarget, domains: string[]) {
    let ok = 0;
    let failed = 0;
    const errors: string[] = [];
    let running = true;
    const deadline = Date.now() + 180_000;
    const request = async (agent: https.Agent | false, domain: string) => {
        const error = await httpsRequest(target, { domain, agent, timeoutMs: 10_000 });
        if (error === undefined) {
            ok++;
        } else {
            failed++;
            errors.push(error.startsWith("status ") ? error : `${agent ? "keep-alive" : "new connection"}: ${error}`);
        }
    };
    const worker = async (agent: https.Agent | false) => {
        for (let i = 0; running && ok + failed < 20_000 && Date.now() < deadline; i++) {
            await request(agent, domains[i % domains.length]);
        }
    };
    const keepAlive = () => new https.Agent({ keepAlive: true, maxSockets: 1, ca: target.ca, rejectUnauthorized: target.ca !== undefined });
    const workers = Promise.all([worker(false), worker(false), worker(keepAlive()), worker(keepAlive())]);
    return {
        async stop() {
            running = false;
            await workers;
            return { ok, failed, errors };
        },
    };
}

/** The HTTP/2 error code of a stream the server refused before processing it (RFC 9113 §8.7): safe to retry. */
const REFUSED_STREAM = 7;

/**
 * HTTP/2 requests over `sessions` connections, `streams` in flight on each, until stopped (bounded to three
 * minutes), as a client that follows the protocol: a stream the server never processed (above the last
 * stream id of its GOAWAY, or refused) is sent again on a new connection and counted as `retried`; a
 * stream the server took and did not answer is `failed` (lost). A connection that received a GOAWAY takes
 * no new streams; the next request opens another.
 */
export function startHttp2Load(target: HttpsTarget, domain: string, { sessions = 2, streams = 10 } = {}) {
    let ok = 0;
    let failed = 0;
    let retried = 0;
    const errors: string[] = [];
    let running = true;
    const deadline = Date.now() + 180_000;
    const connect = () =>
        http2.connect(`https://${target.address}:${target.port}`, {
            servername: domain,
            ca: target.ca,
            rejectUnauthorized: target.ca !== undefined,
        });
    /** One request on `session`: "ok", "retry" (never processed: send again) or what went wrong. */
    const request = (session: http2.ClientHttp2Session): Promise<string> =>
        new Promise((resolve) => {
            let stream: http2.ClientHttp2Stream;
            try {
                stream = session.request({ ":path": "/", ":authority": domain });
            } catch {
                // The session received a GOAWAY or closed before this stream was sent.
                resolve("retry");
                return;
            }
            let status = 0;
            stream.setTimeout(10_000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
            stream.on("response", (headers) => {
                status = Number(headers[":status"]);
            });
            stream.resume();
            stream.on("error", () => undefined);
            stream.on("close", () => {
                if (status === 200 && stream.rstCode === http2.constants.NGHTTP2_NO_ERROR) {
                    resolve("ok");
                } else if (
                    status === 0 &&
                    (stream.rstCode === REFUSED_STREAM || stream.id === undefined || (goawayLast.get(session) ?? Infinity) < stream.id)
                ) {
                    resolve("retry");
                } else {
                    resolve(status ? `status ${status}, stream reset ${stream.rstCode}` : `no response, stream reset ${stream.rstCode}`);
                }
            });
            stream.end();
        });
    /** The last stream id of the GOAWAY each session received. */
    const goawayLast = new WeakMap<http2.ClientHttp2Session, number>();
    const open = () => {
        const session = connect();
        session.on("goaway", (_code, lastStreamID) => goawayLast.set(session, lastStreamID));
        session.on("error", () => undefined);
        return session;
    };
    const usable = (session: http2.ClientHttp2Session) => !session.closed && !session.destroyed && !goawayLast.has(session);
    const worker = async (slot: { session: http2.ClientHttp2Session }) => {
        while (running && Date.now() < deadline) {
            if (!usable(slot.session)) {
                slot.session.close();
                slot.session = open();
            }
            const outcome = await request(slot.session);
            if (outcome === "ok") {
                ok++;
            } else if (outcome === "retry") {
                retried++;
            } else {
                failed++;
                errors.push(outcome);
            }
        }
    };
    const slots = Array.from({ length: sessions }, () => ({ session: open() }));
    const workers = Promise.all(slots.flatMap((slot) => Array.from({ length: streams }, () => worker(slot))));
    return {
        async stop() {
            running = false;
            await workers;
            for (const slot of slots) {
                slot.session.close();
            }
            return { ok, failed, retried, errors };
        },
    };
}

/**
 * A tiny DNS server for tests: answers A queries over UDP from a table the test changes while it runs.
 * A name in the table gets its address (TTL 1 s) and an empty answer to other query types; any other name
 * gets NXDOMAIN.
 */
import * as dgram from "node:dgram";

export interface TinyDns {
    /** Sets (or, with undefined, removes) the IPv4 address of a name. */
    set(name: string, address: string | undefined): void;
    /** How many queries it answered. */
    queries(): number;
    close(): Promise<void>;
}

const TYPE_A = 1;
const RCODE_NXDOMAIN = 3;

/** Starts the server on `address` port `port`. */
export async function startTinyDns(address: string, port: number): Promise<TinyDns> {
    const table = new Map<string, string>();
    let answered = 0;
    const socket = dgram.createSocket("udp4");
    socket.on("message", (query, peer) => {
        // Header (12 bytes), then one question: length-prefixed labels, a zero byte, type and class.
        const labels: string[] = [];
        let offset = 12;
        while (offset < query.length && query[offset] !== 0) {
            labels.push(query.toString("ascii", offset + 1, offset + 1 + query[offset]));
            offset += 1 + query[offset];
        }
        const questionEnd = offset + 5;
        if (query.length < questionEnd) {
            return;
        }
        const type = query.readUInt16BE(offset + 1);
        const name = labels.join(".").toLowerCase();
        const ip = table.get(name);
        const header = Buffer.alloc(12);
        header.writeUInt16BE(query.readUInt16BE(0), 0); // the query's ID
        header.writeUInt16BE(0x8180 | (query.readUInt16BE(2) & 0x0100) | (ip ? 0 : RCODE_NXDOMAIN), 2); // QR, RD echoed, RA
        header.writeUInt16BE(1, 4);
        const answer = ip && type === TYPE_A ? Buffer.from([0xc0, 12, 0, TYPE_A, 0, 1, 0, 0, 0, 1, 0, 4, ...ip.split(".").map(Number)]) : Buffer.alloc(0);
        header.writeUInt16BE(answer.length ? 1 : 0, 6);
        answered++;
        socket.send(Buffer.concat([header, query.subarray(12, questionEnd), answer]), peer.port, peer.address);
    });
    await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(port, address, () => resolve());
    });
    return {
        set: (name, ip) => {
            if (ip) {
                table.set(name.toLowerCase(), ip);
            } else {
                table.delete(name.toLowerCase());
            }
        },
        queries: () => answered,
        close: () => new Promise((resolve) => socket.close(() => resolve())),
    };
}

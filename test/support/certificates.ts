/**
 * Certificates with a chosen validity and serial, as a CA issues them: a lifetime of hours or days that started
 * in the past (Let's Encrypt's six-day certificates, a 90-day one two thirds through). `openssl req -x509` only
 * takes whole days from now (its -not_before is OpenSSL 3.4's), so `openssl ca -selfsign` signs them, with its
 * -startdate and -enddate, in a scratch directory of its own.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface CertificateOptions {
    /** Subject alternative names (DNS). */
    names: string[];
    /** Start and end of validity. */
    notBefore: Date;
    notAfter: Date;
    /** The serial in hex (openssl's form, e.g. `0ABC`); a leading zero is kept as openssl prints it. */
    serial?: string;
    /** The issuer's (and subject's) common name. */
    commonName?: string;
}

/** openssl ca's time: GeneralizedTime, UTC, whole seconds. */
function caTime(date: Date): string {
    return `${date
        .toISOString()
        .replace(/[-:T]/g, "")
        .replace(/\.\d{3}Z$/, "")}Z`;
}

/** Writes a self-signed certificate (cert.pem's form, one certificate) and its key with the validity and serial given. */
export function writeCertificate(certFile: string, keyFile: string, options: CertificateOptions): void {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "edge-proxy-ca-"));
    try {
        fs.writeFileSync(path.join(dir, "index.txt"), "");
        fs.writeFileSync(path.join(dir, "serial"), `${options.serial ?? "0A1B"}\n`);
        fs.writeFileSync(
            path.join(dir, "ca.cnf"),
            [
                "[ca]",
                "default_ca = edge",
                "[edge]",
                `dir = ${dir}`,
                `database = ${dir}/index.txt`,
                `new_certs_dir = ${dir}`,
                `serial = ${dir}/serial`,
                "default_md = sha256",
                "policy = any",
                "unique_subject = no",
                "copy_extensions = copy",
                "[any]",
                "commonName = supplied",
                "",
            ].join("\n"),
        );
        const request = path.join(dir, "request.pem");
        execFileSync(
            "openssl",
            [
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                `/CN=${options.commonName ?? "Test R1"}`,
                "-addext",
                `subjectAltName=${options.names.map((name) => `DNS:${name}`).join(",")}`,
                "-keyout",
                keyFile,
                "-out",
                request,
            ],
            { stdio: "pipe" },
        );
        execFileSync(
            "openssl",
            [
                "ca",
                "-batch",
                "-notext",
                "-config",
                path.join(dir, "ca.cnf"),
                "-selfsign",
                "-keyfile",
                keyFile,
                "-in",
                request,
                "-out",
                certFile,
                "-startdate",
                caTime(options.notBefore),
                "-enddate",
                caTime(options.notAfter),
            ],
            { stdio: "pipe" },
        );
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

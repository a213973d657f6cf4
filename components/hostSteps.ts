/** The steps `up` runs on a host, as each records itself in the host's ledger (templates/partials/sh-ledger.hbs). */

/** The name each host step records itself under in the host's ledger. */
export const STEP = {
    prepare: "prepare",
    config: "config",
    dnsCredentials: "dns-credentials",
    /** The external account binding's file (acmeEabKid). */
    eab: "eab",
    renewal: "renewal",
    container: "container",
    certbot: (site: string) => `certbot-${site}`,
    pem: (site: string) => `pem-${site}`,
    /** A fleet's issuer: its certificate key. */
    fleetKey: "fleet-key",
    /** A fleet's other host: the receiver and the issuer's key in authorized_keys. */
    receiver: "receiver",
} as const;

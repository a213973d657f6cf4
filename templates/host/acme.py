# edge-proxy's questions to the ACME server that certbot does not answer for it, run with the certbot image's
# python3 (requests and cryptography are certbot's own dependencies) where certbot runs. Two commands:
#
#   profile SERVER PROFILE
#     Whether the CA's directory offers PROFILE (the ACME profiles extension: newOrder's "profile", listed in
#     the directory's meta.profiles). A certificate step asks before certbot orders, so that a profile the CA
#     does not offer fails its site with the profiles it does offer named, and no order is placed. Exits 1
#     when not offered, 3 when the directory cannot be read.
#
#   renewal-info SERVER CERT...
#     The CA's renewal window of each certificate (ACME Renewal Information, RFC 9773), for the status: prints
#     `<serial> <window start> <window end> <ask again after>` per certificate, in order, Unix times; the
#     window "- -" when the CA gives none (no renewal information, or a window that is none: RFC 9773 §4.2),
#     and after an error, with a retry in an hour. certbot asks the same question when it decides whether to
#     renew, but keeps only the time to ask again; the renewal job asks again once the CA's Retry-After has
#     passed. Errors go to stderr.
#
# REQUESTS_CA_BUNDLE names the CA bundle of a private ACME server (acmeCaBundle), as for certbot.
import base64
import datetime
import email.utils
import sys

import requests
from cryptography import x509

TIMEOUT_SECONDS = 30
# RFC 9773 §4.3: without a Retry-After, ask again in six hours; and never wait more than a day.
DEFAULT_RETRY_SECONDS = 6 * 3600
MAX_RETRY_SECONDS = 86400
ERROR_RETRY_SECONDS = 3600
DIRECTORY_UNREADABLE = 3


def directory(server):
    response = requests.get(server, timeout=TIMEOUT_SECONDS)
    response.raise_for_status()
    return response.json()


def profile(server, wanted):
    offered = (directory(server).get("meta") or {}).get("profiles") or {}
    if wanted in offered:
        return 0
    if not offered:
        print(f'the CA at {server} offers no ACME profiles, so not "{wanted}": unset acmeProfile (and the sites\' acmeProfile)')
    else:
        names = ", ".join(f"{name} ({offered[name]})" if isinstance(offered[name], str) else name for name in sorted(offered))
        print(f'the CA at {server} does not offer the ACME profile "{wanted}"; it offers: {names}')
    return 1


def b64url(data):
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def certificate_id(cert):
    # RFC 9773 §4.1: the authority key identifier and the serial's DER integer content, each base64url.
    key_id = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    serial = cert.serial_number
    return b64url(key_id) + "." + b64url(serial.to_bytes((serial.bit_length() + 8) // 8, "big", signed=True))


def epoch(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def retry_after(response, now):
    value = response.headers.get("Retry-After", "")
    if value.isdigit():
        seconds = int(value)
    else:
        try:
            seconds = int(email.utils.parsedate_to_datetime(value).timestamp()) - now
        except (TypeError, ValueError):
            seconds = DEFAULT_RETRY_SECONDS
    return now + min(max(seconds, 60), MAX_RETRY_SECONDS)


def window_of(base, cert, now):
    """The CA's window for `cert` as `start end retry`, "- -" when it gives none (RFC 9773 §4.2: end after start)."""
    if not base:
        return "-", "-", now + DEFAULT_RETRY_SECONDS
    response = requests.get(base.rstrip("/") + "/" + certificate_id(cert), timeout=TIMEOUT_SECONDS)
    response.raise_for_status()
    window = response.json()["suggestedWindow"]
    start, end = epoch(window["start"]), epoch(window["end"])
    if end <= start:
        return "-", "-", retry_after(response, now)
    return start, end, retry_after(response, now)


def renewal_info(server, paths):
    base = directory(server).get("renewalInfo")
    for path in paths:
        now = int(datetime.datetime.now(datetime.timezone.utc).timestamp())
        try:
            with open(path, "rb") as file:
                cert = x509.load_pem_x509_certificate(file.read())
        except (OSError, ValueError) as error:
            print(f"{path}: not a certificate: {error}", file=sys.stderr)
            print("-", "-", "-", now + ERROR_RETRY_SECONDS)
            continue
        serial = format(cert.serial_number, "X")
        try:
            print(serial, *window_of(base, cert, now))
        except (requests.RequestException, ValueError, KeyError, TypeError, x509.ExtensionNotFound) as error:
            print(f"{path}: no renewal information: {error}", file=sys.stderr)
            print(serial, "-", "-", now + ERROR_RETRY_SECONDS)
    return 0


def main(argv):
    try:
        if len(argv) == 3 and argv[0] == "profile":
            return profile(argv[1], argv[2])
        if len(argv) >= 2 and argv[0] == "renewal-info":
            return renewal_info(argv[1], argv[2:])
    except (requests.RequestException, ValueError) as error:
        # stdout for the profile check, which reports it as the site's error; stderr for the renewal job's log.
        print(f"could not read the ACME directory {argv[1]}: {error}", file=sys.stdout if argv[0] == "profile" else sys.stderr)
        return DIRECTORY_UNREADABLE
    print("usage: acme.py profile SERVER PROFILE | renewal-info SERVER CERT...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

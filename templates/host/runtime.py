# edge-proxy's certificate updates through HAProxy's runtime API (2.2+), without a reload: run with the
# certbot image's python3 in the HAProxy container's network namespace, where the API listens on an abstract
# socket (`stats socket abns@NAME` in haproxy.cfg) that nothing outside that namespace reaches. Python's
# standard library only.
#
#   NAME certificates PEM...
#     For each PEM file HAProxy serves (its path inside the container, where the same directory is mounted
#     read-only here): when the certificate HAProxy holds is not the file's, sends the file (`set ssl cert`
#     with the PEM as payload, then `commit ssl cert`); running connections keep theirs, new ones get the new
#     one. Prints `updated PEM` or `unchanged PEM` per file. Exits 2 when HAProxy does not hold a PEM at all
#     (its configuration does not name it yet: a reload must load it), 1 on any other failure (what HAProxy
#     said on stderr), leaving each certificate either committed or as it was.
#
# The PEM's content (with its private key) travels on the socket only, never in a process's arguments.
import hashlib
import re
import socket
import ssl
import sys

# HAProxy names an abstract socket by the whole sun_path, padded with NUL bytes.
SUN_PATH_BYTES = 108
TIMEOUT_SECONDS = 30
NOT_LOADED = 2


def abstract_address(name):
    """The address of HAProxy's abstract socket `abns@NAME`."""
    address = b"\0" + name.encode()
    return address + b"\0" * (SUN_PATH_BYTES - len(address))


def ask(address, command):
    """One command on a connection of its own (the API's non-interactive mode); HAProxy's answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.settimeout(TIMEOUT_SECONDS)
        connection.connect(address)
        connection.sendall(command.encode())
        answer = b""
        while True:
            data = connection.recv(65536)
            if not data:
                return answer.decode(errors="replace")
            answer += data


def fingerprint_of_file(path):
    """The SHA-1 fingerprint HAProxy shows of the file's first certificate (the one it serves)."""
    with open(path, encoding="ascii") as pem:
        text = pem.read()
    first = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", text, re.S)
    if not first:
        raise ValueError(f"{path} holds no certificate")
    return text, hashlib.sha1(ssl.PEM_cert_to_DER_cert(first.group(0))).hexdigest().upper()


def served_fingerprint(address, path):
    """The fingerprint of the certificate HAProxy serves from PEM path, or None when it holds no such file."""
    answer = ask(address, f"show ssl cert {path}\n")
    found = re.search(r"^SHA1 FingerPrint: *([0-9A-Fa-f]+)", answer, re.M)
    return found.group(1).upper() if found else None


def update(address, path):
    text, wanted = fingerprint_of_file(path)
    served = served_fingerprint(address, path)
    if served is None:
        return "not-loaded"
    if served == wanted:
        return "unchanged"
    # The payload ends at the first empty line: a PEM has none, and one newline more closes it.
    answer = ask(address, f"set ssl cert {path} <<\n{text.rstrip(chr(10))}\n\n")
    if "Transaction created" not in answer and "Transaction updated" not in answer:
        ask(address, f"abort ssl cert {path}\n")
        raise RuntimeError(f"HAProxy refused the certificate {path}: {answer.strip()}")
    answer = ask(address, f"commit ssl cert {path}\n")
    if "Success!" not in answer:
        ask(address, f"abort ssl cert {path}\n")
        raise RuntimeError(f"HAProxy refused the certificate {path}: {answer.strip()}")
    if served_fingerprint(address, path) != wanted:
        raise RuntimeError(f"HAProxy committed {path} but does not serve it")
    return "updated"


def main(arguments):
    if len(arguments) < 2 or arguments[1] != "certificates":
        print("usage: runtime.py NAME certificates PEM...", file=sys.stderr)
        return 1
    address = abstract_address(arguments[0])
    result = 0
    for path in arguments[2:]:
        try:
            outcome = update(address, path)
        except (OSError, ValueError, RuntimeError) as error:
            print(error, file=sys.stderr)
            return 1
        if outcome == "not-loaded":
            print(f"HAProxy does not serve {path} yet", file=sys.stderr)
            result = NOT_LOADED
        else:
            print(f"{outcome} {path}")
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

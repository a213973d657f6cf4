# edge-proxy's certificate updates through HAProxy's runtime API (2.2+), without a reload: run with the
# certbot image's python3 in the HAProxy container's network namespace, where the API listens on an abstract
# socket (`stats socket abns@NAME` in haproxy.cfg) that nothing outside that namespace reaches. Python's
# standard library only.
#
#   NAME worker
#     The PID of the HAProxy worker that answers: before a reload, so that the host can wait for the next one.
#
#   NAME wait-worker PID SECONDS
#     Waits until a worker other than PID ("-": any) answers, at most SECONDS, and prints its PID: a reload is
#     done only then (the new worker parses the whole configuration first; until then the old one answers,
#     and a certificate sent to it would not reach the new one). Exits 1 when none did in time.
#
#   NAME certificates PEM...
#     For each PEM file HAProxy serves (its path inside the container, where the same directory is mounted
#     read-only here): when the certificate HAProxy holds is not the file's, sends the file (`set ssl cert`
#     with the PEM as payload, then `commit ssl cert`); running connections keep theirs, new ones get the new
#     one. Prints `updated PEM` or `unchanged PEM` per file. Exits 2 when HAProxy does not hold a PEM at all
#     (its configuration does not name it yet: a reload must load it), 1 on any other failure (what HAProxy
#     said on stderr), leaving each certificate either committed or as it was. Blank lines and carriage
#     returns are left out of the payload: HAProxy ends a payload at the first empty line.
#
#   NAME tls-keys FILE
#     Has HAProxy use the TLS session ticket keys in FILE (the `tls-ticket-keys` file, its path inside the
#     container, where the same directory is mounted read-only here), oldest first: sends each key HAProxy
#     does not hold yet (`set ssl tls-key`, which drops HAProxy's oldest), so that HAProxy holds the file's
#     keys in the file's order. Prints `updated` or `unchanged`. Exits 2 when HAProxy uses no such file (its
#     configuration does not name it yet: a reload must load it), 1 on any other failure.
#
# The PEM's content (with its private key) and the ticket keys travel on the socket only, never in a
# process's arguments.
import hashlib
import re
import socket
import ssl
import sys
import time

# HAProxy names an abstract socket by the whole sun_path, padded with NUL bytes.
SUN_PATH_BYTES = 108
TIMEOUT_SECONDS = 30
NOT_LOADED = 2
# HAProxy's answer to `show ssl cert` for a file it does not hold.
NOT_FOUND = "Not found"
# HAProxy's answer to `show tls-keys` for a file no bind line names.
NO_TICKET_KEYS = "unable to locate referenced filename"


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
    if found:
        return found.group(1).upper()
    if NOT_FOUND in answer:
        return None
    raise RuntimeError(f"HAProxy did not show the certificate {path}: {answer.strip() or 'no answer'}")


def worker_pid(address):
    """The PID of the worker that answers."""
    found = re.search(r"^Pid: (\d+)$", ask(address, "show info\n"), re.M)
    if not found:
        raise RuntimeError("HAProxy's show info gave no Pid")
    return found.group(1)


def wait_worker(address, previous, seconds):
    """The PID of a worker other than `previous` ("-": any) once one answers, or None after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            pid = worker_pid(address)
            if pid != previous:
                return pid
        except (OSError, RuntimeError):
            pass  # between two workers, or the new one not listening yet
        time.sleep(0.2)
    return None


def update(address, path):
    text, wanted = fingerprint_of_file(path)
    served = served_fingerprint(address, path)
    if served is None:
        return "not-loaded"
    if served == wanted:
        return "unchanged"
    # The payload ends at the first empty line: the PEM's own are left out, and one more closes it.
    payload = "\n".join(line.rstrip("\r") for line in text.splitlines() if line.strip())
    answer = ask(address, f"set ssl cert {path} <<\n{payload}\n\n")
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


def served_ticket_keys(address, path):
    """The ticket keys HAProxy holds from file path, oldest first, or None when it uses no such file."""
    answer = ask(address, f"show tls-keys {path}\n")
    if NO_TICKET_KEYS in answer:
        return None
    keys = re.findall(r"^\d+\.\d+ (\S+)$", answer, re.M)
    if not keys:
        # Not HAProxy's answer itself: it may hold keys.
        raise RuntimeError(f"HAProxy's answer to show tls-keys {path} lists no key this program reads")
    return keys


def ticket_keys(address, path):
    with open(path, encoding="ascii") as keys_file:
        wanted = [line.strip() for line in keys_file if line.strip()]
    if not wanted:
        raise ValueError(f"{path} holds no ticket key")
    served = served_ticket_keys(address, path)
    if served is None:
        return "not-loaded"
    # The longest run of the file's first keys that HAProxy already holds as its newest: only the rest is
    # sent (a rotation sends one key), each one becoming HAProxy's newest.
    held = next(n for n in range(min(len(served), len(wanted)), -1, -1) if n == 0 or served[-n:] == wanted[:n])
    if held == len(wanted):
        return "unchanged"
    for key in wanted[held:]:
        answer = ask(address, f"set ssl tls-key {path} {key}\n")
        if "TLS ticket key updated" not in answer:
            raise RuntimeError(f"HAProxy refused a ticket key of {path}: {answer.strip()}")
    if (served_ticket_keys(address, path) or [])[-len(wanted):] != wanted:
        raise RuntimeError(f"HAProxy took the ticket keys of {path} but does not hold them in order")
    return "updated"


def main(arguments):
    usage = "usage: runtime.py NAME worker | NAME wait-worker PID SECONDS | NAME certificates PEM... | NAME tls-keys FILE"
    if len(arguments) < 2:
        print(usage, file=sys.stderr)
        return 1
    address = abstract_address(arguments[0])
    if arguments[1:] == ["worker"]:
        try:
            print(worker_pid(address))
        except (OSError, RuntimeError) as error:
            print(error, file=sys.stderr)
            return 1
        return 0
    if arguments[1] == "wait-worker" and len(arguments) == 4:
        pid = wait_worker(address, arguments[2], float(arguments[3]))
        if pid is None:
            print(f"no new HAProxy worker answered within {arguments[3]} s", file=sys.stderr)
            return 1
        print(pid)
        return 0
    if arguments[1] == "tls-keys" and len(arguments) == 3:
        try:
            outcome = ticket_keys(address, arguments[2])
        except (OSError, ValueError, RuntimeError) as error:
            print(error, file=sys.stderr)
            return 1
        if outcome == "not-loaded":
            print(f"HAProxy uses no ticket keys from {arguments[2]} yet", file=sys.stderr)
            return NOT_LOADED
        print(outcome)
        return 0
    if arguments[1] != "certificates":
        print(usage, file=sys.stderr)
        return 1
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

# edge-proxy's ACME pre-flight, run by a certificate step before certbot asks the CA (python3 of the certbot
# image, on the host's network). It serves a random token where certbot's HTTP-01 server would be, then
# fetches it by each name from the host, as the CA will: through DNS, the validation port and HAProxy's
# ACME ACL. A name that does not get the token back fails the step before any request reaches the CA, whose
# rate limits count failed validations (5 per name per hour at Let's Encrypt).
#
# Arguments: BIND_ADDRESS BIND_PORT TOKEN RESOLVER VALIDATION_PORT NAME...
#   RESOLVER: "" for the host's resolver, or IPv4[:PORT] of a DNS server to ask for A records.
# Prints one line per name; exits 1 when any name does not reach this host.
import http.server
import random
import socket
import socketserver
import struct
import sys
import threading
import urllib.error
import urllib.request

bind_address, bind_port, token, resolver, validation_port = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
names = sys.argv[6:]
CHALLENGE_PATH = "/.well-known/acme-challenge/" + token


class TokenHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = token.encode() if self.path == CHALLENGE_PATH else b""
        self.send_response(200 if body else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    allow_reuse_address = True
    daemon_threads = True


def query_a(name):
    """The IPv4 addresses of `name` from the DNS server RESOLVER (one UDP query, 5 s)."""
    host, _, port = resolver.partition(":")
    ident = random.randrange(65536)
    question = b"".join(bytes([len(label)]) + label.encode("ascii") for label in name.rstrip(".").split(".")) + b"\0"
    query = struct.pack(">HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(5)
        udp.sendto(query, (host, int(port or 53)))
        while True:
            answer, _ = udp.recvfrom(4096)
            if answer[:2] == query[:2]:
                break
    flags, questions, answers = struct.unpack(">HHH", answer[2:8])
    if flags & 0xF == 3:
        raise LookupError("no such name (NXDOMAIN from " + resolver + ")")
    if flags & 0xF:
        raise LookupError("DNS error " + str(flags & 0xF) + " from " + resolver)
    offset = 12
    for _ in range(questions):
        offset = skip_name(answer, offset) + 4
    addresses = []
    for _ in range(answers):
        offset = skip_name(answer, offset)
        rtype, _, _, length = struct.unpack(">HHIH", answer[offset:offset + 10])
        offset += 10
        if rtype == 1 and length == 4:
            addresses.append(socket.inet_ntoa(answer[offset:offset + 4]))
        offset += length
    return addresses


def skip_name(message, offset):
    while True:
        length = message[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length


def resolve(name):
    if resolver:
        return sorted(set(query_a(name)))
    return sorted({info[4][0] for info in socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)})


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None


def fetch(address, name):
    """None when `address` answers the token for `name`, else what it did instead."""
    request = urllib.request.Request("http://%s:%d%s" % (address, validation_port, CHALLENGE_PATH), headers={"Host": name})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=10) as response:
            body = response.read(256)
            return None if body == token.encode() else "answered %d with something else" % response.status
    except urllib.error.HTTPError as error:
        where = " to " + error.headers.get("Location", "") if 300 <= error.code < 400 else ""
        return "answered %d%s" % (error.code, where)
    except (OSError, urllib.error.URLError) as error:
        return str(getattr(error, "reason", error))


server = Server((bind_address, bind_port), TokenHandler)
threading.Thread(target=server.serve_forever, daemon=True).start()
failed = 0
for name in names:
    try:
        addresses = resolve(name)
    except (OSError, LookupError, IndexError, struct.error) as error:
        print("%s does not resolve: %s" % (name, error))
        failed += 1
        continue
    if not addresses:
        print("%s does not resolve: it has no IPv4 address (A record)" % name)
        failed += 1
        continue
    problems = [(address, fetch(address, name)) for address in addresses]
    problems = ["%s %s" % (address, problem) for address, problem in problems if problem]
    if problems:
        print("%s does not reach this host: resolves to %s (%s)" % (name, ", ".join(addresses), "; ".join(problems)))
        failed += 1
    else:
        print("%s reaches this host (%s)" % (name, ", ".join(addresses)))
server.shutdown()
sys.exit(1 if failed else 0)

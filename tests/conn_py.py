"""The Python side of the interop tests (tests/run_pair.cmake): the same
roles as examples/connection_echo.c and connection_client.c, with
multiprocessing.connection, so either side of a pair can be Python.

  conn_py.py server FAMILY AUTHKEY     FAMILY: unix | tcp | tcp6; prints
                                       the address, echoes one client until
                                       it sends b'close'; exit 2 if the
                                       client fails authentication
  conn_py.py client - AUTHKEY MSG...   reads the address from stdin; MSG as
                                       connection_client ("@N", "close")
"""
import sys
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Listener


def pattern(n):
    return bytes((i * 7 + 3) & 0xFF for i in range(n))


def parse(address):
    if address.startswith('\\\\') or ':' not in address:
        return address
    host, port = address.rsplit(':', 1)
    return (host.strip('[]'), int(port))


def server(family, key):
    addr = {'unix': None, 'tcp': ('127.0.0.1', 0), 'tcp6': ('::1', 0)}[family]
    fam = 'AF_UNIX' if family == 'unix' else 'AF_INET'
    if family == 'tcp6':
        import socket
        from multiprocessing import connection
        # Python's Listener has no AF_INET6 family: bind the socket ourselves.
        sock = socket.socket(socket.AF_INET6)
        sock.bind(addr)
        sock.listen(1)
        print('[::1]:%d' % sock.getsockname()[1], flush=True)
        s, _ = sock.accept()
        conn = connection.Connection(s.detach())
        try:
            connection.deliver_challenge(conn, key)
            connection.answer_challenge(conn, key)
        except AuthenticationError as e:
            print('AuthenticationError:', e, file=sys.stderr)
            return 2
        return echo(conn)
    with Listener(addr, family=fam, authkey=key) as listener:
        a = listener.address
        print(a if isinstance(a, str) else '%s:%d' % a, flush=True)
        try:
            conn = listener.accept()
        except AuthenticationError as e:
            print('AuthenticationError:', e, file=sys.stderr)
            return 2
        return echo(conn)


def echo(conn):
    with conn:
        while True:
            try:
                msg = conn.recv_bytes()
            except EOFError:
                return 0
            if msg == b'close':
                return 0
            conn.send_bytes(msg)


def client(key, msgs):
    address = parse(sys.stdin.readline().strip())
    try:
        if isinstance(address, tuple) and ':' in address[0]:
            # Python's Client has no AF_INET6 family: connect ourselves and
            # run its handshake (answer, then deliver, as Client does).
            import socket
            from multiprocessing import connection
            sock = socket.create_connection(address)
            conn = connection.Connection(sock.detach())
            connection.answer_challenge(conn, key)
            connection.deliver_challenge(conn, key)
        else:
            conn = Client(address, authkey=key)
    except AuthenticationError as e:
        print('AuthenticationError:', e, file=sys.stderr)
        return 2
    with conn:
        for m in msgs:
            if m.startswith('@'):
                data = pattern(int(m[1:]))
                conn.send_bytes(data)
                back = conn.recv_bytes()
                if back != data:
                    print('wrong echo of %d bytes' % len(data), file=sys.stderr)
                    return 1
                print('%d bytes ok' % len(data))
            elif m == 'close':
                conn.send_bytes(b'close')
            else:
                conn.send_bytes(m.encode())
                print(conn.recv_bytes().decode())
    return 0


if __name__ == '__main__':
    if sys.argv[1] == 'server':
        sys.exit(server(sys.argv[2], sys.argv[3].encode()))
    sys.exit(client(sys.argv[3].encode(), sys.argv[4:]))

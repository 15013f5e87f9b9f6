"""A minimal RFC 6455 client (standard library only) for kernel WebSocket tests."""
import base64
import json
import os
import socket
import struct
import urllib.parse


class WebSocketError(RuntimeError):
    pass


class WebSocket:
    def __init__(self, url, headers=None, timeout=30, ssl_context=None):
        u = urllib.parse.urlsplit(url)
        assert u.scheme in ("ws", "wss"), "only ws:// and wss:// on loopback"
        self.sock = socket.create_connection((u.hostname, u.port or 80), timeout=timeout)
        if u.scheme == "wss":
            self.sock = ssl_context.wrap_socket(self.sock, server_hostname=u.hostname)
        path = u.path + ("?" + u.query if u.query else "")
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {u.hostname}:{u.port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise WebSocketError("connection closed during the handshake: " + head.decode(errors="replace"))
            head += chunk
        head, self._buf = head.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].decode()
        if " 101 " not in status + " ":
            raise WebSocketError("handshake refused: " + head.decode(errors="replace"))

    def send_text(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _read(self, n):
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise WebSocketError("connection closed")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def recv(self):
        """The next text or binary message (fragments joined); pings are ignored."""
        data = b""
        while True:
            b0, b1 = self._read(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            if op == 8:
                raise WebSocketError("closed by the server")
            if op in (9, 10):
                continue
            data += payload
            if b0 & 0x80:
                return data

    def close(self):
        try:
            self.sock.sendall(struct.pack("!BB", 0x88, 0x80) + os.urandom(4))
        except OSError:
            pass
        self.sock.close()


def run_code(ws, code, timeout_msgs=200):
    """Sends an execute_request over a Jupyter kernel channel socket; returns the stdout text."""
    msg_id = base64.b16encode(os.urandom(8)).decode()
    ws.send_text(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": msg_id, "msg_type": "execute_request",
                   "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True}}))
    out = ""
    for _ in range(timeout_msgs):
        m = json.loads(ws.recv())
        if m.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "stream":
            out += m["content"]["text"]
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return out
    raise WebSocketError("no idle status from the kernel")

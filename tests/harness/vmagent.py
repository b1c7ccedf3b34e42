"""The control agent of the test VM (installed by vmimage.py; test images only).

Runs as root in the guest and answers POST /run with {"argv": [...], "timeout": s}:
the command's exit code, stdout and stderr as JSON. QEMU forwards one 127.0.0.1 port
of the host to it, so only the harness on the host reaches it. Standard library only:
the guest's Debian python3 runs it.
"""

import json
import subprocess
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        try:
            done = subprocess.run(request["argv"], capture_output=True, text=True, errors="replace",
                                  timeout=request.get("timeout", 600), input=request.get("input"))
            answer = {"rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr}
        except subprocess.TimeoutExpired as error:
            answer = {"rc": None, "stdout": str(error.stdout or ""), "stderr": "timed out"}
        except OSError as error:
            answer = {"rc": 127, "stdout": "", "stderr": str(error)}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Handler).serve_forever()

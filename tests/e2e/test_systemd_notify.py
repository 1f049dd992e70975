"""systemd's Type=notify protocol, as systemd itself would see it: otlpd (app/systemd_notify.cpp)
writes datagrams to $NOTIFY_SOCKET, a path or an abstract socket written @name. READY=1 only once
the receivers listen; RELOADING=1 then READY=1 around a SIGHUP reload; STOPPING=1 at SIGTERM."""
import signal
import socket

from otlpd_process import file_pipeline_config


def receive(sock):
    data = sock.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.strip().splitlines())


def test_ready_reloading_stopping(start_otlpd, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(60)  # bounds a hung process only
    try:
        otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",)),
                            env={"NOTIFY_SOCKET": path})
        ready = receive(sock)
        assert ready["READY"] == "1"
        # Once systemd hears READY=1, the receiver takes connections.
        socket.create_connection(("127.0.0.1", otlpd.grpc_port()), timeout=10).close()
        otlpd.proc.send_signal(signal.SIGHUP)
        assert receive(sock) == {"RELOADING": "1"}
        assert receive(sock)["READY"] == "1"
        otlpd.proc.send_signal(signal.SIGTERM)
        assert receive(sock) == {"STOPPING": "1"}
        assert otlpd.proc.wait(timeout=60) == 0
    finally:
        sock.close()


def test_abstract_notify_socket(start_otlpd, tmp_path):
    name = f"otlpd-test-{tmp_path.name}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(60)
    try:
        otlpd = start_otlpd(file_pipeline_config(tmp_path / "out.jsonl", signals=("traces",)),
                            env={"NOTIFY_SOCKET": "@" + name})
        assert receive(sock)["READY"] == "1"
        otlpd.proc.send_signal(signal.SIGTERM)
        assert receive(sock) == {"STOPPING": "1"}
        assert otlpd.proc.wait(timeout=60) == 0
    finally:
        sock.close()

#pragma once

#include <string_view>

namespace otlpd {

// systemd's notification protocol (sd_notify(3), Type=notify): sends `state` ("READY=1",
// "STOPPING=1", ...) as one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET, a path or
// an abstract name written @name. A no-op (false) when the variable is not set, as when otlpd
// is not run by systemd. Implemented here rather than with libsystemd, which would map
// libsystemd, libgcrypt, libgpg-error, liblzma and libcap into otlpd for this one datagram.
bool notify_systemd(std::string_view state) noexcept;

}  // namespace otlpd

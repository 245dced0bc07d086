"""One HTTP request to a task's port on localhost, as Aurora's signaler made them."""

from __future__ import annotations


def http_request(
    port: int, path: str, *, method: str = "GET", timeout: float = 1.0
) -> tuple[str, int]:
    """(body, status) of a request to localhost; raises OSError on a transport error."""
    import http.client  # only health-checked and lifecycle tasks pay for it

    conn = http.client.HTTPConnection("localhost", port, timeout=timeout)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None)
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
        if response.status >= 400:
            body = ""  # urllib raised HTTPError here and Aurora kept only the code
        return body, response.status
    except http.client.HTTPException as e:
        raise OSError(f"Error within {type(e).__name__}") from e
    finally:
        conn.close()

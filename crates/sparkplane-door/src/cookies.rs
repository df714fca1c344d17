//! Reading a cookie from a request and writing `Set-Cookie` values: the
//! attributes every cookie of the door carries (`HttpOnly`, `SameSite=Lax`,
//! `Secure` when the door's public address is https).
//! Owns those attributes. Must not: sign or open cookie values (the sign-in
//! flow does).

use sparkplane_http::Request;

/// The value of cookie `name` in the request's `Cookie` headers, if present once or more (the first wins).
pub fn read<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request
        .headers
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value setting `name` for `max_age_secs` under `path`.
pub fn set(name: &str, value: &str, path: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age_secs}; HttpOnly; SameSite=Lax{secure}")
}

/// A `Set-Cookie` value removing `name` under `path`.
pub fn clear(name: &str, path: &str, secure: bool) -> String {
    set(name, "", path, 0, secure)
}

#[cfg(test)]
mod tests {
    use sparkplane_http::{Method, Request};

    use super::*;

    fn with_cookies(lines: &[&str]) -> Request {
        let mut request = Request::new(Method::Get, "/");
        for line in lines {
            request.headers.append("cookie", line.parse().expect("a header value"));
        }
        request
    }

    #[test]
    fn reads_a_cookie_among_others_and_across_headers() {
        let request = with_cookies(&["a=1; sparkplane_session=abc.def", "b=2"]);
        assert_eq!(read(&request, "sparkplane_session"), Some("abc.def"));
        assert_eq!(read(&request, "b"), Some("2"));
        assert_eq!(read(&request, "sparkplane"), None, "a prefix is not a name");
        assert_eq!(read(&with_cookies(&[]), "a"), None);
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_on_https() {
        assert_eq!(set("s", "v", "/", 60, true), "s=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        assert_eq!(clear("s", "/oauth2/", false), "s=; Path=/oauth2/; Max-Age=0; HttpOnly; SameSite=Lax");
    }
}

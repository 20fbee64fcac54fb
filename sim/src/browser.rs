//! A user agent for the front channel: it follows redirects, keeps cookies per origin,
//! and — given a login — fills in and submits the HTML login and consent forms an
//! authorization server shows, until the authorization response reaches the client's
//! redirect URI. It drives any AS the same way: the simulated reference AS, or a live one
//! behind a remote host of the simulator.
//!
//! Forms are filled generically: hidden inputs keep their value, the password input gets
//! the password, the first text or email input gets the username, and of several submit
//! buttons the one whose value reads like consent (`approve`, `allow`, `accept`,
//! `confirm`, `yes`) is pressed.

use crate::network::{Network, clone_response, origin_of};
use bytes::Bytes;
use mcp_authz_reference::Error;
use mcp_authz_reference::sans_io::Response;
use mcp_authz_reference::wire;
use std::collections::BTreeMap;

/// Who signs in when a form asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

/// A user agent with a cookie jar.
#[derive(Debug, Clone)]
pub struct Browser {
    /// Its name as a sender in the simulator (`browser:victim`).
    pub name: String,
    /// Who signs in when a login form appears; without it a form ends the walk.
    pub login: Option<Login>,
    jar: BTreeMap<String, BTreeMap<String, String>>,
    /// The first HTML page shown (a login or consent form), to inspect its headers.
    pub first_page: Option<Response>,
    /// The status of each form submission, in order.
    pub form_posts: Vec<u16>,
    /// The walk stopped at an HTML page (a login or consent form) with no login to fill
    /// it in: what happens after a sign-in was not seen.
    pub stopped_at_sign_in: bool,
}

/// How many steps (redirects and form posts) a walk may take.
const MAX_STEPS: usize = 12;

impl Browser {
    /// A browser named `name`, signing in as `login` when asked.
    pub fn new(name: &str, login: Option<Login>) -> Browser {
        let (jar, first_page, form_posts) = (BTreeMap::new(), None, vec![]);
        Browser { name: name.into(), login, jar, first_page, form_posts, stopped_at_sign_in: false }
    }

    /// Opens `url` and walks redirects and forms until a URL for which `arrived` holds
    /// (the client's redirect URI) is reached; returns it. A page it cannot get past is
    /// an error saying what it got.
    pub fn open(
        &mut self,
        sim: &mut (impl Network + ?Sized),
        url: &str,
        arrived: impl Fn(&url::Url) -> bool,
    ) -> Result<String, Error> {
        let mut current = url::Url::parse(url).map_err(|e| Error::malformed("authorization url", e))?;
        let mut form: Option<(String, String)> = None;
        for _ in 0..MAX_STEPS {
            if arrived(&current) {
                return Ok(current.to_string());
            }
            let posted = form.is_some();
            let req = match form.take() {
                Some((action, body)) => wire::post_form_request(&action, &body)?,
                None => http::Request::get(current.as_str())
                    .body(Bytes::new())
                    .map_err(|e| Error::malformed("url", e))?,
            };
            let resp = self.send(sim, req)?;
            if posted {
                self.form_posts.push(resp.status().as_u16());
            }
            if resp.status().is_redirection() {
                let location = resp
                    .headers()
                    .get(http::header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| Error::Missing("Location on a redirect".into()))?;
                current = current.join(location).map_err(|e| Error::malformed("redirect location", e))?;
                continue;
            }
            let html = resp.status() == http::StatusCode::OK
                && resp
                    .headers()
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("text/html"));
            if !html {
                return Err(Error::HttpStatus {
                    what: "authorization request",
                    received: resp.status().as_u16(),
                    expected: "a redirect or an HTML form",
                });
            }
            let Some(login) = &self.login else {
                self.stopped_at_sign_in = true;
                let mut page = current.clone();
                page.set_query(None);
                return Err(Error::Refused(format!(
                    "{page} showed an HTML page (a login or consent form?) and no login was given \
                     to fill it in (test-as: --login USER:PASSWORD, or --authorize-hook CMD)"
                )));
            };
            if self.first_page.is_none() {
                self.first_page = Some(clone_response(&resp));
            }
            let page = String::from_utf8_lossy(resp.body());
            let Some(f) = Form::parse(&page) else {
                return Err(Error::Refused(format!("a page at {current} with no form to submit")));
            };
            let action = current.join(&f.action).map_err(|e| Error::malformed("form action", e))?;
            form = Some((action.to_string(), f.filled(login)));
            current = action;
        }
        Err(Error::Refused(format!("more than {MAX_STEPS} steps before the redirect uri")))
    }

    /// Sends `req` with this browser's cookies for its origin, and keeps the cookies the
    /// answer sets.
    fn send(
        &mut self,
        sim: &mut (impl Network + ?Sized),
        mut req: mcp_authz_reference::sans_io::Request,
    ) -> Result<Response, Error> {
        let origin = origin_of(req.uri()).unwrap_or_default();
        if let Some(cookies) = self.jar.get(&origin).filter(|c| !c.is_empty()) {
            let header: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if let Ok(v) = http::HeaderValue::from_str(&header.join("; ")) {
                req.headers_mut().insert(http::header::COOKIE, v);
            }
        }
        let resp = sim.send(&self.name, req)?;
        for set in resp.headers().get_all(http::header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
            let Some((name, value)) = set.split(';').next().and_then(|p| p.split_once('=')) else { continue };
            let expired = set.to_ascii_lowercase().contains("max-age=0");
            let cookies = self.jar.entry(origin.clone()).or_default();
            if expired {
                cookies.remove(name.trim());
            } else {
                cookies.insert(name.trim().to_string(), value.trim().to_string());
            }
        }
        Ok(resp)
    }
}

/// The first `<form>` of a page: where it posts, its inputs and its submit buttons.
#[derive(Debug, PartialEq, Eq)]
struct Form {
    action: String,
    /// `(name, type, value)` of each input.
    inputs: Vec<(String, String, String)>,
    /// `(name, value)` of each named submit button.
    buttons: Vec<(String, String)>,
}

impl Form {
    fn parse(page: &str) -> Option<Form> {
        let start = page.find("<form")?;
        let end = page[start..].find("</form>").map_or(page.len(), |e| start + e);
        let body = &page[start..end];
        let form_tag = attributes(body.strip_prefix("<form")?);
        let action = form_tag.get("action").cloned().unwrap_or_default();
        let mut inputs = vec![];
        let mut buttons = vec![];
        for (tag, attrs) in tags(body) {
            let get = |k: &str| attrs.get(k).cloned().unwrap_or_default();
            let kind = get("type").to_ascii_lowercase();
            match tag {
                "input" if kind == "submit" && attrs.contains_key("name") => {
                    buttons.push((get("name"), get("value")))
                }
                "input" if attrs.contains_key("name") => inputs.push((get("name"), kind, get("value"))),
                "button" if attrs.contains_key("name") => buttons.push((get("name"), get("value"))),
                _ => {}
            }
        }
        Some(Form { action, inputs, buttons })
    }

    /// The urlencoded submission, signed in as `login`.
    fn filled(&self, login: &Login) -> String {
        let mut pairs: Vec<(String, String)> = vec![];
        let mut username_given = false;
        for (name, kind, value) in &self.inputs {
            let v = match kind.as_str() {
                "password" => login.password.clone(),
                "" | "text" | "email" if !username_given => {
                    username_given = true;
                    login.username.clone()
                }
                "checkbox" | "radio" => continue,
                _ => value.clone(),
            };
            pairs.push((name.clone(), v));
        }
        let consent = ["approve", "allow", "accept", "confirm", "yes"];
        let button = self
            .buttons
            .iter()
            .find(|(_, v)| consent.iter().any(|c| v.to_ascii_lowercase().contains(c)))
            .or(self.buttons.first());
        pairs.extend(button.cloned());
        wire::encode_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

/// The `input` and `button` tags of `html` with their attributes.
fn tags(html: &str) -> Vec<(&'static str, BTreeMap<String, String>)> {
    let mut out = vec![];
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(i) = lower[at..].find('<').map(|i| at + i) {
        let rest = &lower[i + 1..];
        let tag = ["input", "button"].into_iter().find(|t| {
            rest.starts_with(t)
                && rest[t.len()..].starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/')
        });
        if let Some(t) = tag {
            out.push((t, attributes(&html[i + 1 + t.len()..])));
        }
        at = i + 1;
    }
    out
}

/// The attributes of a tag whose name has been consumed: `name="v"`, `name='v'`,
/// `name=v` or bare `name`, up to the closing `>`; names lower-cased, values decoded.
fn attributes(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut chars = s.char_indices().peekable();
    loop {
        while chars.peek().is_some_and(|(_, c)| c.is_whitespace() || *c == '/') {
            chars.next();
        }
        let Some(&(start, c)) = chars.peek() else { break };
        if c == '>' {
            break;
        }
        let mut end = start;
        while let Some(&(j, c)) = chars.peek() {
            if c.is_whitespace() || c == '=' || c == '>' || c == '/' {
                break;
            }
            end = j + c.len_utf8();
            chars.next();
        }
        let name = s[start..end].to_ascii_lowercase();
        if name.is_empty() {
            chars.next();
            continue;
        }
        let mut value = String::new();
        if chars.peek().is_some_and(|(_, c)| *c == '=') {
            chars.next();
            match chars.peek().map(|(_, c)| *c) {
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    for (_, c) in chars.by_ref() {
                        if c == q {
                            break;
                        }
                        value.push(c);
                    }
                }
                _ => {
                    while let Some(&(_, c)) = chars.peek() {
                        if c.is_whitespace() || c == '>' {
                            break;
                        }
                        value.push(c);
                        chars.next();
                    }
                }
            }
        }
        out.entry(name).or_insert_with(|| decode_entities(&value));
    }
    out
}

fn decode_entities(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Login {
        Login { username: "alice".into(), password: "secret".into() }
    }

    #[test]
    fn reference_login_form_is_filled_with_consent() {
        let page = r#"<form method="post" action="/authorize"><input type="hidden" name="csrf" value="a&amp;b">
            <label>Username <input name="username" autocomplete="username"></label>
            <label>Password <input name="password" type="password"></label>
            <button name="action" value="approve">Allow</button> <button name="action" value="deny">Deny</button></form>"#;
        let f = Form::parse(page).unwrap();
        assert_eq!(f.action, "/authorize");
        assert_eq!(f.filled(&alice()), "csrf=a%26b&username=alice&password=secret&action=approve");
    }

    #[test]
    fn oidc_provider_style_forms() {
        let login = r#"<form method="post" action="/interaction/u1/login">
            <input type="text" name="login" placeholder="login" autofocus>
            <input type="password" name="password"><button type="submit">Sign in</button></form>"#;
        let f = Form::parse(login).unwrap();
        assert_eq!(f.filled(&alice()), "login=alice&password=secret");
        let consent = r#"<form method="post" action="/interaction/u2/confirm"><button type="submit">Allow</button></form>"#;
        let f = Form::parse(consent).unwrap();
        assert_eq!((f.action.as_str(), f.filled(&alice()).as_str()), ("/interaction/u2/confirm", ""));
        assert_eq!(Form::parse("<p>no form</p>"), None);
    }

    #[test]
    fn attribute_forms() {
        let a = attributes(r#" a="1" b='2' c=3 d e="x>y">"#);
        assert_eq!(a["a"], "1");
        assert_eq!(a["b"], "2");
        assert_eq!(a["c"], "3");
        assert_eq!(a["d"], "");
        assert_eq!(a["e"], "x>y");
    }
}

//! Users, roles, tokens and passwords.

use super::*;

/// What a user may do: viewers read; editors also write; admins also manage users.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Editor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// A person or pipeline identity. Never carries the password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    pub fn can(&self, role: Role) -> bool {
        self.role >= role
    }
}

/// An API token's metadata; the secret itself is shown once, at creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// The answer to creating a token: its metadata plus the secret, this one time.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: ApiToken,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub token: Secret,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    pub name: String,
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewUser {
    #[cfg_attr(
        feature = "ssr",
        schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")
    )]
    pub username: String,
    #[cfg_attr(
        feature = "ssr",
        schema(
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub display_name: Option<String>,
    #[cfg_attr(
        feature = "ssr",
        schema(value_type = String, format = Password, min_length = 10, max_length = 200)
    )]
    pub password: Password,
    pub role: Role,
}

#[derive(Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserPatch {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub disabled: Option<bool>,
    #[cfg_attr(
        feature = "ssr",
        schema(value_type = Option<String>, format = Password, min_length = 10, max_length = 200)
    )]
    #[serde(default)]
    pub password: Option<Password>,
    #[cfg_attr(
        feature = "ssr",
        schema(
            min_length = 1,
            max_length = 100,
            pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
        )
    )]
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginRequest {
    #[cfg_attr(
        feature = "ssr",
        schema(pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$")
    )]
    pub username: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String, format = Password))]
    pub password: Password,
}

/// A secret: a password as typed in, a session cookie's value or an API token. Its `Debug` is
/// redacted and its memory wiped when dropped (`secrecy`), so it cannot reach a log by accident;
/// it serialises as plain text only where it has to cross the wire (a password the browser sends,
/// a token's secret shown once at creation).
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(secrecy::SecretString);

/// A password is a secret like any other; the name says which one a field holds.
pub type Password = Secret;

impl Secret {
    pub fn expose(&self) -> &str {
        use secrecy::ExposeSecret;
        self.0.expose_secret()
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Secret(text.into())
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Secret(text.into())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.expose())
    }
}

pub const PASSWORD_MIN: usize = 10;
pub const PASSWORD_MAX: usize = 200;

/// Checks a new password's length (characters, not bytes).
pub fn check_password(field: &str, password: &Password, errors: &mut Vec<FieldError>) {
    let length = password.expose().chars().count();
    if length < PASSWORD_MIN {
        errors.push(FieldError::new(
            field,
            format!("must be at least {PASSWORD_MIN} characters"),
        ));
    } else if length > PASSWORD_MAX {
        errors.push(FieldError::new(
            field,
            format!("must be at most {PASSWORD_MAX} characters"),
        ));
    }
}

/// How people sign in here, for the login page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInOptions {
    /// The provider's name when single sign-on is set up ("Sign in with <provider>").
    pub provider: Option<String>,
    /// Whether the password form is offered (`DEPLOYTRACK_PASSWORD_LOGIN`; the break-glass admin
    /// may still use it).
    pub password: bool,
}

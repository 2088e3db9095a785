use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::access::{list_users, CreateUser, UpdateUser};
use crate::components::form_feedback::{last_error, FieldMessage, FormMessage};
use crate::components::loaded::Loaded;
use crate::components::timestamp::Timestamp;
use crate::model::{Role, User, NAME_MAX, USERNAME_MAX};

/// User management for admins: create, change role, disable, reset password.
#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let users = Resource::new(
        move || (create.version().get(), update.version().get()),
        |_| list_users(),
    );
    let create_error = last_error(create.value());
    let update_error = last_error(update.value());

    view! {
        <Title text="Users"/>
        <section class="page">
            <h1>"Users"</h1>
            <ActionForm action=create attr:class="card form" attr:id="create-user">
                <h2>"New user"</h2>
                <FormMessage error=create_error/>
                <label>"Username" <input name="username" required maxlength=USERNAME_MAX/></label>
                <FieldMessage error=create_error field="username"/>
                <label>"Display name" <input name="display_name" maxlength=NAME_MAX placeholder="optional"/></label>
                <label>"Password" <input name="password" type="password" required minlength="10" autocomplete="new-password"/></label>
                <FieldMessage error=create_error field="password"/>
                <label>"Role" <RoleSelect selected=Role::Viewer/></label>
                <button type="submit">"Create user"</button>
            </ActionForm>
            <FormMessage error=update_error/>
            <FieldMessage error=update_error field="role"/>
            <FieldMessage error=update_error field="password"/>
            <Loaded resource=users render=move |list| view! { <UserTable list update/> }/>
        </section>
    }
}

#[component]
fn RoleSelect(selected: Role, #[prop(optional)] label: Option<String>) -> impl IntoView {
    view! {
        <select name="role" aria-label=label>
            {Role::ALL.into_iter().map(|role| view! {
                <option value=role.as_str() selected=role == selected>{role.as_str()}</option>
            }).collect_view()}
        </select>
    }
}

#[component]
fn UserTable(list: Vec<User>, update: ServerAction<UpdateUser>) -> impl IntoView {
    view! {
        <table class="data" id="users">
            <thead><tr><th>"User"</th><th>"Role"</th><th>"Created"</th><th>"Status"</th><th>"New password"</th></tr></thead>
            <tbody>
                {list.into_iter().map(|user| {
                    let id = user.id.to_string();
                    let (id_role, id_status, id_password) = (id.clone(), id.clone(), id);
                    let disabled = user.disabled_at.is_some();
                    let role_label = format!("Role of {}", user.username);
                    let password_label = format!("New password for {}", user.username);
                    view! {
                        <tr>
                            <td><strong>{user.username.clone()}</strong><br/><span class="muted">{user.display_name.clone()}</span></td>
                            <td>
                                <ActionForm action=update attr:class="inline">
                                    <input type="hidden" name="id" value=id_role/>
                                    <RoleSelect selected=user.role label=role_label/>
                                    <button type="submit" class="secondary">"Change"</button>
                                </ActionForm>
                            </td>
                            <td><Timestamp at=user.created_at/></td>
                            <td>
                                <ActionForm action=update attr:class="inline">
                                    <input type="hidden" name="id" value=id_status/>
                                    <input type="hidden" name="disabled" value=(!disabled).to_string()/>
                                    {disabled.then(|| view! { <span class="badge">"disabled"</span>" " })}
                                    <button type="submit" class="secondary">{if disabled { "Enable" } else { "Disable" }}</button>
                                </ActionForm>
                            </td>
                            <td>
                                <ActionForm action=update attr:class="inline">
                                    <input type="hidden" name="id" value=id_password/>
                                    <input name="password" type="password" minlength="10" autocomplete="new-password" required
                                        aria-label=password_label/>
                                    <button type="submit" class="secondary">"Reset"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

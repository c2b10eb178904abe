// Signing in with an access key: the header control, who is signed in (GET /auth/me), and what
// the page shows for that role. The server decides; this only hides what would be refused.
import { accessKey, onUnauthorized, request, setAccessKey } from "./api.js";
import { label, onLanguageChange, t } from "./i18n.js";
import { showMessage } from "./ui.js";

const ANONYMOUS = { authenticated: false, name: null, role: null, can: { read: true, edit: false, manage: false } };
// What fits in an HTTP header: fetch would fail on anything else as if the network were down.
const KEY_CHARACTERS = /^[\x21-\x7e]+$/;

export class Auth extends EventTarget {
  constructor() {
    super();
    this.me = ANONYMOUS;
    this.bindControl();
    onLanguageChange(() => this.render());
    onUnauthorized(() => {
      if (!this.me.authenticated) return; // a key being checked: its caller says why
      this.update(ANONYMOUS, "");
      showMessage(t("auth.expired"), "error");
    });
  }

  can(action) {
    return Boolean(this.me.can?.[action]);
  }

  // At start-up: a key kept from earlier in this browser session is checked once; a refused one
  // is dropped (the page goes on without it) and the server's reason shown.
  async restore() {
    const key = accessKey();
    if (key) {
      try {
        this.me = await request("GET", "/auth/me", { key });
      } catch (error) {
        setAccessKey("");
        showMessage(t("auth.refused", { detail: error.problem?.detail || error.message }), "error");
      }
    }
    this.render();
  }

  async signIn(key) {
    const error = document.getElementById("auth-error");
    if (!KEY_CHARACTERS.test(key)) {
      this.refuse(t("auth.malformed"));
      return;
    }
    const button = document.getElementById("auth-submit");
    button.disabled = true;
    try {
      const me = await request("GET", "/auth/me", { key });
      error.hidden = true;
      this.closeForm();
      this.update(me, key);
    } catch (failure) {
      this.refuse(t("auth.refused", { detail: failure.problem?.detail || failure.message }));
    } finally {
      button.disabled = false;
    }
  }

  signOut() {
    this.update(ANONYMOUS, "");
  }

  refuse(text) {
    const error = document.getElementById("auth-error");
    error.textContent = text;
    error.hidden = false;
    document.getElementById("auth-key").select();
  }

  update(me, key) {
    setAccessKey(key);
    this.me = me;
    this.render();
    this.dispatchEvent(new Event("change"));
  }

  bindControl() {
    const toggle = document.getElementById("auth-toggle");
    const form = document.getElementById("auth-form");
    toggle.addEventListener("click", () => (form.hidden ? this.openForm() : this.closeForm()));
    document.getElementById("auth-cancel").addEventListener("click", () => this.closeForm());
    form.addEventListener("keydown", (e) => e.key === "Escape" && this.closeForm());
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.signIn(document.getElementById("auth-key").value.trim());
    });
    document.getElementById("auth-sign-out").addEventListener("click", () => this.signOut());
  }

  openForm() {
    document.getElementById("auth-form").hidden = false;
    document.getElementById("auth-toggle").setAttribute("aria-expanded", "true");
    document.getElementById("auth-key").focus();
  }

  // The key typed is not kept in the form: only sessionStorage holds it.
  closeForm() {
    const form = document.getElementById("auth-form");
    form.reset();
    form.hidden = true;
    document.getElementById("auth-error").hidden = true;
    document.getElementById("auth-toggle").setAttribute("aria-expanded", "false");
  }

  render() {
    const { me } = this;
    document.getElementById("auth-toggle").hidden = me.authenticated;
    document.getElementById("auth-user").hidden = !me.authenticated;
    document.getElementById("auth-name").textContent = me.name || "";
    const role = document.getElementById("auth-role");
    role.textContent = label("role", me.role);
    role.className = `role role-${me.role}`;
    document.body.dataset.role = me.role || "anonymous";
    for (const node of document.querySelectorAll("[data-can]")) node.hidden = !this.can(node.dataset.can);
    for (const node of document.querySelectorAll("[data-cannot]")) node.hidden = this.can(node.dataset.cannot);
  }
}

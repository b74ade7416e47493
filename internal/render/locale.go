package render

import (
	"strconv"
	"strings"
)

// catalog holds one language's strings. Placeholders are {app}, {code} and
// {expiry}; they are substituted in a single pass, so a value that itself
// contains "{code}" is never expanded again.
type catalog struct {
	lang string // BCP 47 tag used for <html lang>

	smsCode     string // "{code} is your {app} verification code."
	codeExpiry  string // "It expires in {expiry}."
	linkExpiry  string // "This link expires in {expiry}."
	codeSubject string
	codeIntro   string // "Your {app} verification code is:"
	ignore      string // "If you didn't request this, ..."
	fallback    string // "If the button doesn't work, ..."

	link map[linkKind]linkStrings

	minute, minutes string
	hour, hours     string
	day, days       string
}

type linkKind int

const (
	linkLogin linkKind = iota
	linkSignup
	linkInvite
)

type linkStrings struct {
	subject string
	intro   string
	button  string
}

// unit returns "1 minute" or "5 minutes" in the catalog's language.
func unit(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

var catalogs = map[string]*catalog{
	"en": {
		lang:        "en",
		smsCode:     "{code} is your {app} verification code.",
		codeExpiry:  "It expires in {expiry}.",
		linkExpiry:  "This link expires in {expiry}.",
		codeSubject: "Your verification code",
		codeIntro:   "Your {app} verification code is:",
		ignore:      "If you didn't request this, you can safely ignore this email.",
		fallback:    "If the button doesn't work, copy and paste this link into your browser:",
		link: map[linkKind]linkStrings{
			linkLogin:  {"Your login link", "Click the link below to log in to {app}.", "Log in"},
			linkSignup: {"Finish signing up", "Click the link below to finish signing up for {app}.", "Finish signing up"},
			linkInvite: {"You have been invited", "You have been invited to join {app}. Click the link below to accept the invitation.", "Accept invitation"},
		},
		minute: "minute", minutes: "minutes",
		hour: "hour", hours: "hours",
		day: "day", days: "days",
	},
	"es": {
		lang:        "es",
		smsCode:     "{code} es tu código de verificación de {app}.",
		codeExpiry:  "Caduca en {expiry}.",
		linkExpiry:  "Este enlace caduca en {expiry}.",
		codeSubject: "Tu código de verificación",
		codeIntro:   "Tu código de verificación de {app} es:",
		ignore:      "Si no lo has solicitado, puedes ignorar este correo.",
		fallback:    "Si el botón no funciona, copia y pega este enlace en tu navegador:",
		link: map[linkKind]linkStrings{
			linkLogin:  {"Tu enlace de inicio de sesión", "Haz clic en el siguiente enlace para iniciar sesión en {app}.", "Iniciar sesión"},
			linkSignup: {"Completa tu registro", "Haz clic en el siguiente enlace para completar tu registro en {app}.", "Completar registro"},
			linkInvite: {"Has recibido una invitación", "Te han invitado a unirte a {app}. Haz clic en el siguiente enlace para aceptar la invitación.", "Aceptar invitación"},
		},
		minute: "minuto", minutes: "minutos",
		hour: "hora", hours: "horas",
		day: "día", days: "días",
	},
	"fr": {
		lang:        "fr",
		smsCode:     "{code} est votre code de vérification {app}.",
		codeExpiry:  "Il expire dans {expiry}.",
		linkExpiry:  "Ce lien expire dans {expiry}.",
		codeSubject: "Votre code de vérification",
		codeIntro:   "Votre code de vérification {app} est\u00a0:",
		ignore:      "Si vous n'êtes pas à l'origine de cette demande, vous pouvez ignorer cet e-mail.",
		fallback:    "Si le bouton ne fonctionne pas, copiez et collez ce lien dans votre navigateur\u00a0:",
		link: map[linkKind]linkStrings{
			linkLogin:  {"Votre lien de connexion", "Cliquez sur le lien ci-dessous pour vous connecter à {app}.", "Se connecter"},
			linkSignup: {"Finalisez votre inscription", "Cliquez sur le lien ci-dessous pour finaliser votre inscription à {app}.", "Finaliser l'inscription"},
			linkInvite: {"Vous avez reçu une invitation", "Vous avez reçu une invitation à rejoindre {app}. Cliquez sur le lien ci-dessous pour l'accepter.", "Accepter l'invitation"},
		},
		minute: "minute", minutes: "minutes",
		hour: "heure", hours: "heures",
		day: "jour", days: "jours",
	},
	"pt-br": {
		lang:        "pt-BR",
		smsCode:     "{code} é o seu código de verificação do {app}.",
		codeExpiry:  "Expira em {expiry}.",
		linkExpiry:  "Este link expira em {expiry}.",
		codeSubject: "Seu código de verificação",
		codeIntro:   "Seu código de verificação do {app} é:",
		ignore:      "Se você não fez essa solicitação, pode ignorar este e-mail.",
		fallback:    "Se o botão não funcionar, copie e cole este link no seu navegador:",
		link: map[linkKind]linkStrings{
			linkLogin:  {"Seu link de acesso", "Clique no link abaixo para entrar no {app}.", "Entrar"},
			linkSignup: {"Conclua seu cadastro", "Clique no link abaixo para concluir seu cadastro no {app}.", "Concluir cadastro"},
			linkInvite: {"Você recebeu um convite", "Você foi convidado para participar do {app}. Clique no link abaixo para aceitar o convite.", "Aceitar convite"},
		},
		minute: "minuto", minutes: "minutos",
		hour: "hora", hours: "horas",
		day: "dia", days: "dias",
	},
	"de": {
		lang:        "de",
		smsCode:     "{code} ist Ihr Bestätigungscode für {app}.",
		codeExpiry:  "Er ist {expiry} gültig.",
		linkExpiry:  "Dieser Link ist {expiry} gültig.",
		codeSubject: "Ihr Bestätigungscode",
		codeIntro:   "Ihr Bestätigungscode für {app} lautet:",
		ignore:      "Wenn Sie dies nicht angefordert haben, können Sie diese E-Mail ignorieren.",
		fallback:    "Falls die Schaltfläche nicht funktioniert, kopieren Sie diesen Link in Ihren Browser:",
		link: map[linkKind]linkStrings{
			linkLogin:  {"Ihr Anmeldelink", "Klicken Sie auf den folgenden Link, um sich bei {app} anzumelden.", "Anmelden"},
			linkSignup: {"Registrierung abschließen", "Klicken Sie auf den folgenden Link, um Ihre Registrierung bei {app} abzuschließen.", "Registrierung abschließen"},
			linkInvite: {"Sie wurden eingeladen", "Sie wurden eingeladen, {app} beizutreten. Klicken Sie auf den folgenden Link, um die Einladung anzunehmen.", "Einladung annehmen"},
		},
		// Accusative ("2 Tage gültig"), matching the "... gültig" sentences.
		minute: "Minute", minutes: "Minuten",
		hour: "Stunde", hours: "Stunden",
		day: "Tag", days: "Tage",
	},
}

// aliases maps a primary language subtag to the catalog that serves it when
// there is no exact match ("pt" and "pt-pt" fall back to Brazilian Portuguese,
// the only Portuguese catalog).
var aliases = map[string]string{
	"pt": "pt-br",
}

// Locales lists the catalog keys Render knows, for documentation and tests.
func Locales() []string { return []string{"en", "es", "fr", "pt-br", "de"} }

// MatchLocale returns the catalog key used for locale: an exact,
// case-insensitive match ("pt-BR", "pt_br"), else the primary language
// ("es-MX" → "es", "pt-PT" → "pt-br"), else "en". An Accept-Language style
// list ("fr-CA,fr;q=0.9") is matched on its first entry.
func MatchLocale(locale string) string {
	return lookup(locale).key()
}

func (c *catalog) key() string { return strings.ToLower(c.lang) }

func lookup(locale string) *catalog {
	l := locale
	if i := strings.IndexAny(l, ",;"); i >= 0 {
		l = l[:i]
	}
	l = strings.ToLower(strings.TrimSpace(strings.ReplaceAll(l, "_", "-")))
	if c, ok := catalogs[l]; ok {
		return c
	}
	primary := l
	if i := strings.IndexByte(primary, '-'); i >= 0 {
		primary = primary[:i]
	}
	if c, ok := catalogs[primary]; ok {
		return c
	}
	if k, ok := aliases[primary]; ok {
		return catalogs[k]
	}
	return catalogs["en"]
}

"""Phrase tables for the sample-session generator (``shared.dataset``): 24 languages, 13 topics.

Each language is a block of lines ``<key><marker> <phrase>``. The marker says who speaks: ``?`` the
employee (user), ``!`` the HR assistant. Keys are a topic code (see ``TOPIC_CODES``, one per
category) or a conversation part:

* user: ``greet`` (opener), ``follow`` (neutral follow-up), ``positive`` / ``negative`` / ``neutral``
  (how the employee closes: thanks, frustration, a plain acknowledgement);
* assistant: ``generic`` (topic-free reply), ``close`` (friendly goodbye), ``sorry`` (de-escalation).

Every language must give every key on both sides it belongs to; ``PHRASES`` is checked at import.
The text is short, plain sentences in the language itself, so a model (or a keyword stand-in) sees
realistic input. English topic questions use the obvious keywords (shift, vacation, payslip, badge, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from shared.analysis import CATEGORIES, LANGUAGES

#: Short code used in the tables -> category name from ``shared.analysis``.
TOPIC_CODES: Mapping[str, str] = MappingProxyType(
    {
        "sched": "SCHEDULE_HOURS",
        "leave": "LEAVE_VACATION",
        "sick": "SICK_LEAVE_RECOVERY",
        "salary": "SALARY_COMPENSATION",
        "contract": "CONTRACT_HOURS",
        "onboard": "ONBOARDING",
        "offboard": "OFFBOARDING",
        "wear": "WORKWEAR_STAFF_PASS",
        "team": "TEAM_CONTACTS",
        "personal": "PERSONAL_QUESTIONS",
        "access": "ACCESS_LOGIN",
        "social": "SOCIAL_QUESTIONS",
        "other": "UNRECOGNIZED_OTHER",
    }
)
USER_PARTS: tuple[str, ...] = ("greet", "follow", "positive", "negative", "neutral")
ASSISTANT_PARTS: tuple[str, ...] = ("generic", "close", "sorry")


@dataclass(frozen=True, slots=True)
class LanguagePhrases:
    """One language's phrases; both maps are keyed by category name or conversation part."""

    language: str
    user: Mapping[str, tuple[str, ...]]
    assistant: Mapping[str, tuple[str, ...]]


_RAW: dict[str, str] = {}

_RAW["en"] = """
greet? Hi!
greet? Hello, I have a question.
greet? Good morning.
sched? When does my shift start next week?
sched? Can I swap my Saturday shift with a colleague?
sched? Where can I see my schedule for next month?
sched! Your shift schedule is in the app under "Schedule". Swaps are approved there.
sched! The schedule for next month is published on the 20th.
leave? How many vacation days do I have left this year?
leave? I would like to request a holiday in August.
leave? Can I take two weeks of vacation in July?
leave! You can request vacation in the portal under "Leave". Your supervisor approves the request.
leave! You have 12 vacation days left this year.
sick? I am sick today, who do I need to inform?
sick? Do I need a doctor's note for sick leave?
sick? I am still sick after my operation, how do I report that?
sick! Please report sick by phone before you start work. From the third day you need a doctor's note.
salary? When will my salary be paid this month?
salary? My payslip shows the wrong number of hours.
salary? Is overtime included in my salary?
salary! The salary is paid on the 25th. Your payslip is available in the portal.
salary! I have forwarded the question about your payslip to payroll.
contract? Can I change my contract hours from 24 to 32 hours a week?
contract? When does my temporary contract end?
contract! A change of contract hours is agreed with HR and confirmed in writing.
onboard? I start next Monday, what do I need to bring on my first day?
onboard? Who is my buddy during onboarding?
onboard! On your first day, bring your ID and bank details. Onboarding starts at 9:00 at the reception.
offboard? I have resigned, when is my last day?
offboard? What do I need to return on my last day?
offboard! Your last day depends on your notice period. Please return your laptop and keys that day.
wear? Where can I get a new uniform?
wear? I lost my badge, how do I get a new staff pass?
wear! A new uniform and a replacement badge are available at the reception.
team? Who is my manager?
team? How can I reach the manager of the night team?
team! You can find the contact details of your manager and team in the app under "Team".
personal? I have moved, how do I change my address?
personal? How do I update my bank account number?
personal! You can update personal details like your address in the portal under "My profile".
access? I forgot my password and cannot log in.
access? My login to the app does not work anymore.
access! You can reset your password via "Forgot password" on the login page.
social? When is the next team event?
social? Is there a Christmas party this year?
social! The next team event is announced on the notice board and in the app.
other? Can you recommend a good restaurant nearby?
other? What will the weather be like tomorrow?
other! I'm sorry, I can only help with questions about your work.
follow? Can you explain that in more detail?
follow? And where can I find that?
follow? Does this also apply to part-time employees?
generic! Let me check that for you.
generic! You can find more information in the employee portal.
generic! Yes, that applies to all employees.
positive? Thanks, that helps a lot!
positive? Great, thank you for the quick answer!
positive? Perfect, that's exactly what I needed.
negative? This is frustrating, nobody answers my question.
negative? That's unacceptable, I have been waiting for weeks.
negative? This doesn't help at all, I'm really annoyed.
neutral? OK.
neutral? Understood.
close! You're welcome! Have a nice day.
close! Happy to help. Good luck!
sorry! I'm sorry about that. I will forward your question to HR.
sorry! I understand your frustration. A colleague from HR will contact you.
"""

_RAW["de"] = """
greet? Hallo!
greet? Guten Morgen, ich habe eine Frage.
sched? Wann beginnt meine Schicht nächste Woche?
sched? Kann ich meine Samstagsschicht mit einer Kollegin tauschen?
sched? Wo sehe ich meinen Dienstplan für nächsten Monat?
sched! Deinen Dienstplan findest du in der App unter „Dienstplan“. Schichttausch wird dort bestätigt.
leave? Wie viele Urlaubstage habe ich dieses Jahr noch?
leave? Ich möchte im August Urlaub beantragen.
leave! Urlaub beantragst du im Portal unter „Abwesenheiten“. Deine Führungskraft genehmigt den Antrag.
sick? Ich bin heute krank, wen muss ich informieren?
sick? Brauche ich eine Krankmeldung vom Arzt?
sick! Bitte melde dich vor Arbeitsbeginn telefonisch krank. Ab dem dritten Tag brauchst du ein Attest.
salary? Wann wird mein Gehalt diesen Monat überwiesen?
salary? Auf meiner Gehaltsabrechnung stehen zu wenige Stunden.
salary! Das Gehalt wird am 25. ausgezahlt. Deine Gehaltsabrechnung findest du im Portal.
contract? Kann ich meine Vertragsstunden von 24 auf 32 Stunden pro Woche erhöhen?
contract? Wann endet mein befristeter Vertrag?
contract! Eine Änderung der Vertragsstunden wird mit der Personalabteilung schriftlich vereinbart.
onboard? Ich fange nächsten Montag an. Was muss ich am ersten Tag mitbringen?
onboard? Wer ist mein Pate während der Einarbeitung?
onboard! Bring am ersten Tag deinen Ausweis und deine Bankverbindung mit. Wir starten um 9 Uhr am Empfang.
offboard? Ich habe gekündigt. Wann ist mein letzter Arbeitstag?
offboard? Was muss ich an meinem letzten Tag zurückgeben?
offboard! Dein letzter Arbeitstag hängt von der Kündigungsfrist ab. Gib Laptop und Schlüssel dann ab.
wear? Wo bekomme ich neue Arbeitskleidung?
wear? Ich habe meinen Mitarbeiterausweis verloren. Wie bekomme ich einen neuen?
wear! Neue Arbeitskleidung und einen Ersatzausweis bekommst du am Empfang.
team? Wer ist mein Teamleiter?
team? Wie erreiche ich meine Vorgesetzte?
team! Die Kontaktdaten deines Teams und deiner Führungskraft findest du in der App unter „Team“.
personal? Ich bin umgezogen. Wie ändere ich meine Adresse?
personal? Wie aktualisiere ich meine Kontonummer?
personal! Persönliche Daten wie Adresse und Bankverbindung änderst du im Portal unter „Mein Profil“.
access? Ich habe mein Passwort vergessen und kann mich nicht anmelden.
access? Mein Login für die App funktioniert nicht mehr.
access! Du kannst dein Passwort über „Passwort vergessen“ auf der Anmeldeseite zurücksetzen.
social? Wann ist das nächste Teamevent?
social? Gibt es dieses Jahr eine Weihnachtsfeier?
social! Das nächste Teamevent wird am Schwarzen Brett und in der App angekündigt.
other? Kannst du mir ein gutes Restaurant in der Nähe empfehlen?
other? Wie wird das Wetter morgen?
other! Tut mir leid, ich kann nur bei Fragen rund um deine Arbeit helfen.
follow? Kannst du das genauer erklären?
follow? Und wo finde ich das?
follow? Gilt das auch für Teilzeitkräfte?
generic! Ich schaue kurz für dich nach.
generic! Weitere Informationen findest du im Mitarbeiterportal.
generic! Ja, das gilt für alle Mitarbeitenden.
positive? Danke, das hilft mir sehr!
positive? Super, vielen Dank für die schnelle Antwort!
positive? Perfekt, genau das habe ich gebraucht.
negative? Das ist frustrierend, niemand beantwortet meine Frage.
negative? Das ist inakzeptabel, ich warte schon seit Wochen.
negative? Das hilft mir überhaupt nicht, ich bin echt verärgert.
neutral? Okay.
neutral? Verstanden.
close! Gern geschehen! Einen schönen Tag noch.
close! Gerne, viel Erfolg!
sorry! Das tut mir leid. Ich leite deine Frage an die Personalabteilung weiter.
sorry! Ich verstehe deinen Ärger. Eine Kollegin aus der Personalabteilung meldet sich bei dir.
"""

_RAW["fr"] = """
greet? Bonjour !
greet? Bonjour, j'ai une question.
sched? À quelle heure commence mon service la semaine prochaine ?
sched? Est-ce que je peux échanger mon service du samedi avec un collègue ?
sched? Où puis-je voir mon planning du mois prochain ?
sched! Votre planning se trouve dans l'application, rubrique « Planning ». Les échanges y sont validés.
leave? Combien de jours de congés payés me reste-t-il cette année ?
leave? Je voudrais poser des congés en août.
leave! Vous pouvez demander vos congés dans le portail, rubrique « Absences ». Votre responsable valide.
sick? Je suis malade aujourd'hui, qui dois-je prévenir ?
sick? Ai-je besoin d'un arrêt de travail du médecin ?
sick! Prévenez par téléphone avant le début de votre journée. Envoyez l'arrêt de travail sous 48 heures.
salary? Quand mon salaire sera-t-il versé ce mois-ci ?
salary? Ma fiche de paie indique un mauvais nombre d'heures.
salary! Le salaire est versé le 25 du mois. Votre fiche de paie est disponible dans le portail.
contract? Est-ce que je peux passer de 24 à 32 heures par semaine dans mon contrat ?
contract? Quand se termine mon CDD ?
contract! Une modification des heures du contrat se fait par avenant, après un échange avec les RH.
onboard? Je commence lundi prochain, que dois-je apporter le premier jour ?
onboard? Qui sera mon parrain pendant l'intégration ?
onboard! Le premier jour, apportez votre pièce d'identité et votre RIB. L'accueil commence à 9 h.
offboard? J'ai démissionné, quel sera mon dernier jour ?
offboard? Que dois-je rendre le dernier jour ?
offboard! Votre dernier jour dépend de votre préavis. Merci de rendre l'ordinateur et les clés ce jour-là.
wear? Où puis-je obtenir une nouvelle tenue de travail ?
wear? J'ai perdu mon badge, comment en obtenir un nouveau ?
wear! Une nouvelle tenue et un badge de remplacement sont disponibles à l'accueil.
team? Qui est mon responsable ?
team? Comment joindre le chef d'équipe de nuit ?
team! Les coordonnées de votre équipe et de votre responsable sont dans l'application, rubrique « Équipe ».
personal? J'ai déménagé, comment changer mon adresse ?
personal? Comment mettre à jour mes coordonnées bancaires ?
personal! Vous pouvez modifier vos données personnelles dans le portail, rubrique « Mon profil ».
access? J'ai oublié mon mot de passe et je ne peux plus me connecter.
access? Mon identifiant ne fonctionne plus dans l'application.
access! Vous pouvez réinitialiser votre mot de passe via « Mot de passe oublié » sur la page de connexion.
social? Quand a lieu la prochaine soirée d'équipe ?
social? Y a-t-il une fête de Noël cette année ?
social! Le prochain événement d'équipe est annoncé sur le panneau d'affichage et dans l'application.
other? Pouvez-vous me conseiller un bon restaurant dans le coin ?
other? Quel temps fera-t-il demain ?
other! Désolé, je ne peux répondre qu'aux questions liées à votre travail.
follow? Pouvez-vous m'expliquer plus en détail ?
follow? Et où est-ce que je trouve ça ?
follow? Est-ce que c'est pareil pour les temps partiels ?
generic! Je vérifie pour vous.
generic! Vous trouverez plus d'informations sur le portail des salariés.
generic! Oui, cela s'applique à tous les salariés.
positive? Merci, ça m'aide beaucoup !
positive? Super, merci pour la réponse rapide !
positive? Parfait, c'est exactement ce qu'il me fallait.
negative? C'est frustrant, personne ne répond à ma question.
negative? C'est inacceptable, j'attends depuis des semaines.
negative? Ça ne m'aide pas du tout, je suis vraiment agacé.
neutral? D'accord.
neutral? Compris.
close! Avec plaisir ! Bonne journée.
close! Je vous en prie, bon courage !
sorry! Je suis désolé. Je transmets votre question au service RH.
sorry! Je comprends votre frustration. Une personne des RH va vous contacter.
"""

_RAW["es"] = """
greet? ¡Hola!
greet? Buenos días, tengo una pregunta.
sched? ¿A qué hora empieza mi turno la semana que viene?
sched? ¿Puedo cambiar mi turno del sábado con un compañero?
sched? ¿Dónde veo mi horario del mes que viene?
sched! Tu horario está en la app, en el apartado «Horario». Los cambios de turno se confirman allí.
leave? ¿Cuántos días de vacaciones me quedan este año?
leave? Quiero pedir vacaciones en agosto.
leave! Puedes solicitar las vacaciones en el portal, en «Ausencias». Tu responsable aprueba la solicitud.
sick? Hoy estoy enfermo, ¿a quién tengo que avisar?
sick? ¿Necesito un parte de baja del médico?
sick! Avisa por teléfono antes de empezar tu jornada. Para la baja necesitas el parte del médico.
salary? ¿Cuándo me pagan el sueldo este mes?
salary? En mi nómina aparecen menos horas de las que trabajé.
salary! El sueldo se paga el día 25. Tu nómina está disponible en el portal.
contract? ¿Puedo ampliar mi contrato de 24 a 32 horas semanales?
contract? ¿Cuándo termina mi contrato temporal?
contract! Los cambios de horas de contrato se hablan con Recursos Humanos y se confirman por escrito.
onboard? Empiezo el lunes, ¿qué tengo que traer el primer día?
onboard? ¿Quién será mi mentor durante la incorporación?
onboard! El primer día trae tu DNI y tus datos bancarios. La acogida empieza a las 9:00 en recepción.
offboard? He presentado mi dimisión, ¿cuál es mi último día?
offboard? ¿Qué tengo que devolver el último día?
offboard! Tu último día depende del preaviso. Ese día devuelve el portátil y las llaves, por favor.
wear? ¿Dónde consigo un uniforme nuevo?
wear? He perdido mi tarjeta de empleado, ¿cómo consigo otra?
wear! El uniforme nuevo y la tarjeta de sustitución se recogen en recepción.
team? ¿Quién es mi responsable?
team? ¿Cómo contacto con el jefe de equipo del turno de noche?
team! Los datos de contacto de tu equipo y tu responsable están en la app, en «Equipo».
personal? Me he mudado, ¿cómo cambio mi dirección?
personal? ¿Cómo actualizo mi número de cuenta bancaria?
personal! Puedes cambiar tus datos personales, como la dirección, en el portal en «Mi perfil».
access? He olvidado mi contraseña y no puedo iniciar sesión.
access? Mi usuario de la app ya no funciona.
access! Puedes restablecer la contraseña con «He olvidado mi contraseña» en la página de acceso.
social? ¿Cuándo es la próxima actividad de equipo?
social? ¿Hay cena de Navidad este año?
social! La próxima actividad de equipo se anuncia en el tablón y en la app.
other? ¿Me recomiendas un buen restaurante cerca?
other? ¿Qué tiempo hará mañana?
other! Lo siento, solo puedo ayudarte con preguntas sobre tu trabajo.
follow? ¿Me lo puedes explicar con más detalle?
follow? ¿Y dónde lo encuentro?
follow? ¿Esto también vale para el personal a tiempo parcial?
generic! Déjame comprobarlo.
generic! Encontrarás más información en el portal del empleado.
generic! Sí, eso se aplica a toda la plantilla.
positive? ¡Gracias, me ayuda mucho!
positive? ¡Genial, gracias por la respuesta tan rápida!
positive? Perfecto, justo lo que necesitaba.
negative? Es frustrante, nadie responde a mi pregunta.
negative? Es inaceptable, llevo semanas esperando.
negative? Esto no me ayuda nada, estoy muy molesto.
neutral? Vale.
neutral? Entendido.
close! ¡De nada! Que tengas un buen día.
close! Encantado de ayudar. ¡Suerte!
sorry! Lo siento. Paso tu pregunta a Recursos Humanos.
sorry! Entiendo tu frustración. Alguien de Recursos Humanos se pondrá en contacto contigo.
"""

_RAW["it"] = """
greet? Ciao!
greet? Buongiorno, ho una domanda.
sched? A che ora inizia il mio turno la prossima settimana?
sched? Posso scambiare il turno di sabato con una collega?
sched! Il tuo orario è nell'app, nella sezione «Turni». I cambi turno vanno confermati lì.
leave? Quanti giorni di ferie mi restano quest'anno?
leave? Vorrei chiedere le ferie ad agosto.
leave! Puoi richiedere le ferie nel portale, alla voce «Assenze». Il tuo responsabile approva la richiesta.
sick? Oggi sono malato, chi devo avvisare?
sick? Mi serve il certificato medico per la malattia?
sick! Avvisa per telefono prima dell'inizio del lavoro. Il medico invia il certificato di malattia online.
salary? Quando viene pagato lo stipendio questo mese?
salary? Nella mia busta paga ci sono meno ore di quelle lavorate.
salary! Lo stipendio viene pagato il 25. La busta paga è disponibile nel portale.
contract? Posso passare da 24 a 32 ore settimanali nel mio contratto?
contract? Quando scade il mio contratto a tempo determinato?
contract! La modifica delle ore di contratto si concorda con l'ufficio del personale, per iscritto.
onboard? Inizio lunedì prossimo, cosa devo portare il primo giorno?
onboard? Chi sarà il mio tutor durante l'inserimento?
onboard! Il primo giorno porta un documento d'identità e l'IBAN. L'inserimento inizia alle 9 in reception.
offboard? Mi sono dimesso, qual è il mio ultimo giorno?
offboard? Cosa devo restituire l'ultimo giorno?
offboard! L'ultimo giorno dipende dal preavviso. Quel giorno restituisci il portatile e le chiavi.
wear? Dove posso ritirare una nuova divisa?
wear? Ho perso il badge, come ne ottengo uno nuovo?
wear! La nuova divisa e il badge sostitutivo si ritirano in reception.
team? Chi è il mio responsabile?
team? Come contatto il capoturno della notte?
team! I contatti del tuo team e del tuo responsabile sono nell'app, nella sezione «Team».
personal? Ho cambiato casa, come aggiorno il mio indirizzo?
personal? Come modifico le mie coordinate bancarie?
personal! Puoi modificare i tuoi dati personali, come l'indirizzo, nel portale alla voce «Il mio profilo».
access? Ho dimenticato la password e non riesco ad accedere.
access? Il mio login all'app non funziona più.
access! Puoi reimpostare la password con «Password dimenticata» nella pagina di accesso.
social? Quando c'è la prossima cena di squadra?
social? Quest'anno c'è la festa di Natale?
social! Il prossimo evento di squadra viene annunciato in bacheca e nell'app.
other? Mi consigli un buon ristorante qui vicino?
other? Che tempo farà domani?
other! Mi dispiace, posso aiutarti solo con domande sul lavoro.
follow? Puoi spiegarmelo meglio?
follow? E dove lo trovo?
follow? Vale anche per chi lavora part-time?
generic! Controllo subito per te.
generic! Trovi più informazioni nel portale dei dipendenti.
generic! Sì, vale per tutti i dipendenti.
positive? Grazie, mi è molto utile!
positive? Ottimo, grazie per la risposta veloce!
positive? Perfetto, era proprio quello che mi serviva.
negative? È frustrante, nessuno risponde alla mia domanda.
negative? È inaccettabile, aspetto da settimane.
negative? Non mi aiuta per niente, sono davvero arrabbiato.
neutral? Va bene.
neutral? Capito.
close! Prego! Buona giornata.
close! Felice di esserti stato utile. In bocca al lupo!
sorry! Mi dispiace. Inoltro la tua domanda all'ufficio del personale.
sorry! Capisco la tua frustrazione. Una persona delle risorse umane ti contatterà.
"""

_RAW["pt"] = """
greet? Olá!
greet? Bom dia, tenho uma pergunta.
sched? A que horas começa o meu turno na próxima semana?
sched? Posso trocar o meu turno de sábado com um colega?
sched! O teu horário está na aplicação, em «Horário». As trocas de turno são confirmadas lá.
leave? Quantos dias de férias ainda tenho este ano?
leave? Gostaria de marcar férias em agosto.
leave! Podes pedir férias no portal, em «Ausências». A tua chefia aprova o pedido.
sick? Estou doente hoje, a quem tenho de avisar?
sick? Preciso de um atestado médico?
sick! Avisa por telefone antes de começares a trabalhar. A partir do terceiro dia precisas de atestado.
salary? Quando é pago o salário este mês?
salary? O meu recibo de vencimento tem o número de horas errado.
salary! O salário é pago no dia 25. O recibo de vencimento está disponível no portal.
contract? Posso passar de 24 para 32 horas semanais no meu contrato?
contract? Quando termina o meu contrato a termo?
contract! A alteração das horas do contrato é combinada com os Recursos Humanos e confirmada por escrito.
onboard? Começo na próxima segunda-feira, o que tenho de levar no primeiro dia?
onboard? Quem vai ser o meu padrinho durante a integração?
onboard! No primeiro dia traz o teu documento de identificação e o IBAN. A integração começa às 9h.
offboard? Despedi-me, qual é o meu último dia?
offboard? O que tenho de devolver no último dia?
offboard! O último dia depende do aviso prévio. Devolve o portátil e as chaves nesse dia.
wear? Onde posso levantar uma farda nova?
wear? Perdi o meu cartão de funcionário, como obtenho outro?
wear! A farda nova e o cartão de substituição são levantados na receção.
team? Quem é o meu chefe de equipa?
team? Como contacto o responsável do turno da noite?
team! Os contactos da tua equipa e da tua chefia estão na aplicação, em «Equipa».
personal? Mudei de casa, como altero a minha morada?
personal? Como atualizo o meu número de conta bancária?
personal! Podes alterar os teus dados pessoais, como a morada e o IBAN, no portal em «O meu perfil».
access? Esqueci-me da palavra-passe e não consigo entrar.
access? O meu login na aplicação deixou de funcionar.
access! Podes redefinir a palavra-passe em «Esqueci-me da palavra-passe» na página de entrada.
social? Quando é o próximo jantar de equipa?
social? Este ano há festa de Natal?
social! O próximo evento de equipa é anunciado no quadro de avisos e na aplicação.
other? Podes recomendar-me um bom restaurante aqui perto?
other? Como vai estar o tempo amanhã?
other! Desculpa, só posso ajudar com perguntas sobre o teu trabalho.
follow? Podes explicar isso com mais detalhe?
follow? E onde encontro isso?
follow? Isto também se aplica a quem trabalha a tempo parcial?
generic! Vou verificar para ti.
generic! Encontras mais informações no portal do colaborador.
generic! Sim, aplica-se a todos os colaboradores.
positive? Obrigado, ajudou muito!
positive? Ótimo, obrigado pela resposta rápida!
positive? Perfeito, era mesmo isso que eu precisava.
negative? É frustrante, ninguém responde à minha pergunta.
negative? Isto é inaceitável, estou à espera há semanas.
negative? Isto não ajuda nada, estou mesmo chateado.
neutral? Está bem.
neutral? Entendido.
close! De nada! Tem um bom dia.
close! Sempre às ordens. Boa sorte!
sorry! Lamento. Vou encaminhar a tua pergunta para os Recursos Humanos.
sorry! Compreendo a tua frustração. Alguém dos Recursos Humanos vai contactar-te.
"""

_RAW["nl"] = """
greet? Hoi!
greet? Goedemorgen, ik heb een vraag.
sched? Hoe laat begint mijn dienst volgende week?
sched? Kan ik mijn zaterdagdienst ruilen met een collega?
sched? Waar zie ik mijn rooster voor volgende maand?
sched! Je rooster staat in de app onder 'Rooster'. Een ruil wordt daar goedgekeurd.
leave? Hoeveel vakantiedagen heb ik dit jaar nog?
leave? Ik wil graag vrij vragen in augustus.
leave! Je vraagt verlof aan in het portaal onder 'Afwezigheid'. Je leidinggevende keurt het goed.
sick? Ik ben vandaag ziek, bij wie moet ik me ziek melden?
sick? Heb ik een doktersverklaring nodig?
sick! Meld je voor aanvang van je werk telefonisch ziek. Een doktersverklaring is meestal niet nodig.
salary? Wanneer wordt mijn salaris deze maand betaald?
salary? Op mijn loonstrook staan te weinig uren.
salary! Het salaris wordt op de 25e betaald. Je loonstrook staat in het portaal.
contract? Kan ik mijn contracturen verhogen van 24 naar 32 uur per week?
contract? Wanneer loopt mijn tijdelijke contract af?
contract! Een wijziging van je contracturen bespreek je met HR; je krijgt een schriftelijke bevestiging.
onboard? Ik begin volgende maandag, wat moet ik meenemen op mijn eerste dag?
onboard? Wie is mijn buddy tijdens de inwerkperiode?
onboard! Neem op je eerste dag je ID-bewijs en bankgegevens mee. Het inwerken begint om 9 uur.
offboard? Ik heb ontslag genomen, wanneer is mijn laatste werkdag?
offboard? Wat moet ik inleveren op mijn laatste dag?
offboard! Je laatste werkdag hangt af van je opzegtermijn. Lever dan je laptop en sleutels in.
wear? Waar kan ik nieuwe bedrijfskleding krijgen?
wear? Ik ben mijn personeelspas kwijt, hoe krijg ik een nieuwe?
wear! Nieuwe bedrijfskleding en een vervangende pas haal je bij de receptie.
team? Wie is mijn leidinggevende?
team? Hoe bereik ik de teamleider van de nachtdienst?
team! De contactgegevens van je team en leidinggevende vind je in de app onder 'Team'.
personal? Ik ben verhuisd, hoe wijzig ik mijn adres?
personal? Hoe pas ik mijn rekeningnummer aan?
personal! Je persoonlijke gegevens, zoals je adres, wijzig je in het portaal onder 'Mijn profiel'.
access? Ik ben mijn wachtwoord vergeten en kan niet inloggen.
access? Mijn inlog voor de app werkt niet meer.
access! Je kunt je wachtwoord herstellen via 'Wachtwoord vergeten' op de inlogpagina.
social? Wanneer is het volgende teamuitje?
social? Is er dit jaar een kerstborrel?
social! Het volgende teamuitje wordt aangekondigd op het prikbord en in de app.
other? Kun je een goed restaurant in de buurt aanraden?
other? Wat voor weer wordt het morgen?
other! Sorry, ik kan alleen helpen met vragen over je werk.
follow? Kun je dat wat beter uitleggen?
follow? En waar vind ik dat?
follow? Geldt dat ook voor parttimers?
generic! Ik zoek het even voor je op.
generic! Meer informatie vind je op het medewerkersportaal.
generic! Ja, dat geldt voor alle medewerkers.
positive? Bedankt, dat helpt me echt!
positive? Top, bedankt voor het snelle antwoord!
positive? Perfect, precies wat ik nodig had.
negative? Dit is frustrerend, niemand beantwoordt mijn vraag.
negative? Dit is onacceptabel, ik wacht al weken.
negative? Hier heb ik niks aan, ik ben echt geïrriteerd.
neutral? Oké.
neutral? Duidelijk.
close! Graag gedaan! Fijne dag nog.
close! Graag geholpen. Succes!
sorry! Sorry daarvoor. Ik stuur je vraag door naar HR.
sorry! Ik begrijp je frustratie. Iemand van HR neemt contact met je op.
"""

_RAW["sv"] = """
greet? Hej!
greet? God morgon, jag har en fråga.
sched? När börjar mitt pass nästa vecka?
sched? Kan jag byta mitt lördagspass med en kollega?
sched! Ditt schema finns i appen under ”Schema”. Passbyten godkänns där.
leave? Hur många semesterdagar har jag kvar i år?
leave? Jag vill ansöka om semester i augusti.
leave! Du ansöker om semester i portalen under ”Frånvaro”. Din chef godkänner ansökan.
sick? Jag är sjuk i dag, vem ska jag meddela?
sick? Behöver jag ett läkarintyg?
sick! Sjukanmäl dig per telefon innan du börjar arbeta. Från dag åtta behöver du läkarintyg.
salary? När betalas lönen ut den här månaden?
salary? Min lönespecifikation visar fel antal timmar.
salary! Lönen betalas ut den 25:e. Lönespecifikationen finns i portalen.
contract? Kan jag höja min avtalade arbetstid från 24 till 32 timmar i veckan?
contract? När slutar min visstidsanställning?
contract! En ändring av arbetstiden i ditt avtal görs med HR och bekräftas skriftligt.
onboard? Jag börjar nästa måndag, vad ska jag ta med första dagen?
onboard? Vem är min fadder under introduktionen?
onboard! Ta med legitimation och dina bankuppgifter första dagen. Introduktionen börjar kl. 9.
offboard? Jag har sagt upp mig, när är min sista arbetsdag?
offboard? Vad ska jag lämna tillbaka sista dagen?
offboard! Din sista dag beror på uppsägningstiden. Lämna tillbaka dator och nycklar sista dagen.
wear? Var får jag nya arbetskläder?
wear? Jag har tappat mitt passerkort, hur får jag ett nytt?
wear! Nya arbetskläder och ett ersättningskort hämtar du i receptionen.
team? Vem är min chef?
team? Hur når jag teamledaren för nattpasset?
team! Kontaktuppgifter till ditt team och din chef finns i appen under ”Team”.
personal? Jag har flyttat, hur ändrar jag min adress?
personal? Hur uppdaterar jag mitt kontonummer?
personal! Dina personuppgifter, som adress och kontonummer, ändrar du i portalen under ”Min profil”.
access? Jag har glömt mitt lösenord och kan inte logga in.
access? Min inloggning i appen fungerar inte längre.
access! Du kan återställa lösenordet via ”Glömt lösenord” på inloggningssidan.
social? När är nästa teamaktivitet?
social? Blir det julfest i år?
social! Nästa teamaktivitet annonseras på anslagstavlan och i appen.
other? Kan du rekommendera en bra restaurang i närheten?
other? Hur blir vädret i morgon?
other! Tyvärr kan jag bara hjälpa till med frågor om ditt arbete.
follow? Kan du förklara det närmare?
follow? Och var hittar jag det?
follow? Gäller det också deltidsanställda?
generic! Jag kollar det åt dig.
generic! Mer information finns på medarbetarportalen.
generic! Ja, det gäller alla anställda.
positive? Tack, det hjälper mycket!
positive? Toppen, tack för det snabba svaret!
positive? Perfekt, precis vad jag behövde.
negative? Det här är frustrerande, ingen svarar på min fråga.
negative? Det är oacceptabelt, jag har väntat i flera veckor.
negative? Det här hjälper inte alls, jag är riktigt irriterad.
neutral? Okej.
neutral? Uppfattat.
close! Varsågod! Ha en bra dag.
close! Kul att kunna hjälpa. Lycka till!
sorry! Jag beklagar. Jag skickar din fråga vidare till HR.
sorry! Jag förstår din frustration. Någon från HR kontaktar dig.
"""

_RAW["da"] = """
greet? Hej!
greet? Godmorgen, jeg har et spørgsmål.
sched? Hvornår starter min vagt i næste uge?
sched? Kan jeg bytte min lørdagsvagt med en kollega?
sched! Din vagtplan ligger i appen under "Vagtplan". Vagtbytter godkendes der.
leave? Hvor mange feriedage har jeg tilbage i år?
leave? Jeg vil gerne søge om ferie i august.
leave! Du søger ferie i portalen under "Fravær". Din leder godkender anmodningen.
sick? Jeg er syg i dag, hvem skal jeg give besked?
sick? Skal jeg have en lægeerklæring?
sick! Meld dig syg telefonisk, før du møder ind. Ved længere sygdom kan vi bede om en lægeerklæring.
salary? Hvornår bliver lønnen udbetalt denne måned?
salary? Min lønseddel viser et forkert antal timer.
salary! Lønnen udbetales den sidste bankdag i måneden. Din lønseddel ligger i portalen.
contract? Kan jeg få flere timer i min kontrakt, fra 24 til 32 om ugen?
contract? Hvornår udløber min tidsbegrænsede kontrakt?
contract! En ændring af dine kontrakttimer aftales med HR og bekræftes skriftligt.
onboard? Jeg starter på mandag, hvad skal jeg medbringe første dag?
onboard? Hvem er min mentor i introduktionsperioden?
onboard! Medbring ID og dine bankoplysninger første dag. Introduktionen starter kl. 9 i receptionen.
offboard? Jeg har sagt op, hvornår er min sidste arbejdsdag?
offboard? Hvad skal jeg aflevere på min sidste dag?
offboard! Din sidste dag afhænger af dit opsigelsesvarsel. Aflever computer og nøgler den dag.
wear? Hvor kan jeg få nyt arbejdstøj?
wear? Jeg har mistet mit adgangskort, hvordan får jeg et nyt?
wear! Nyt arbejdstøj og et erstatningskort får du i receptionen.
team? Hvem er min leder?
team? Hvordan får jeg fat i teamlederen på nattevagten?
team! Kontaktoplysninger på dit team og din leder finder du i appen under "Team".
personal? Jeg er flyttet, hvordan ændrer jeg min adresse?
personal? Hvordan opdaterer jeg mit kontonummer?
personal! Dine personlige oplysninger som adresse og kontonummer ændrer du i portalen under "Min profil".
access? Jeg har glemt min adgangskode og kan ikke logge ind.
access? Mit login til appen virker ikke længere.
access! Du kan nulstille din adgangskode via "Glemt adgangskode" på login-siden.
social? Hvornår er det næste teamarrangement?
social? Holder vi julefrokost i år?
social! Det næste teamarrangement bliver annonceret på opslagstavlen og i appen.
other? Kan du anbefale en god restaurant i nærheden?
other? Hvordan bliver vejret i morgen?
other! Beklager, jeg kan kun hjælpe med spørgsmål om dit arbejde.
follow? Kan du forklare det nærmere?
follow? Og hvor finder jeg det?
follow? Gælder det også for deltidsansatte?
generic! Jeg tjekker det lige for dig.
generic! Du finder mere information på medarbejderportalen.
generic! Ja, det gælder for alle medarbejdere.
positive? Tak, det hjælper meget!
positive? Super, tak for det hurtige svar!
positive? Perfekt, det var lige det, jeg havde brug for.
negative? Det er frustrerende, ingen svarer på mit spørgsmål.
negative? Det er uacceptabelt, jeg har ventet i flere uger.
negative? Det hjælper slet ikke, jeg er virkelig irriteret.
neutral? Okay.
neutral? Forstået.
close! Selv tak! Hav en god dag.
close! Godt at kunne hjælpe. Held og lykke!
sorry! Det beklager jeg. Jeg sender dit spørgsmål videre til HR.
sorry! Jeg forstår din frustration. En fra HR kontakter dig.
"""

_RAW["no"] = """
greet? Hei!
greet? God morgen, jeg har et spørsmål.
sched? Når starter vakten min neste uke?
sched? Kan jeg bytte lørdagsvakten min med en kollega?
sched! Vaktplanen din ligger i appen under «Vaktplan». Vaktbytter godkjennes der.
leave? Hvor mange feriedager har jeg igjen i år?
leave? Jeg vil søke om ferie i august.
leave! Du søker om ferie i portalen under «Fravær». Lederen din godkjenner søknaden.
sick? Jeg er syk i dag, hvem må jeg gi beskjed til?
sick? Trenger jeg sykemelding fra legen?
sick! Meld fra på telefon før du begynner å jobbe. De første dagene kan du bruke egenmelding.
salary? Når blir lønnen utbetalt denne måneden?
salary? Lønnsslippen min viser feil antall timer.
salary! Lønnen utbetales den 20. Lønnsslippen finner du i portalen.
contract? Kan jeg øke stillingen min fra 24 til 32 timer i uken?
contract? Når går den midlertidige kontrakten min ut?
contract! Endring av timene i kontrakten avtales med HR og bekreftes skriftlig.
onboard? Jeg begynner på mandag, hva må jeg ta med første dag?
onboard? Hvem er fadderen min i opplæringsperioden?
onboard! Ta med legitimasjon og bankopplysninger første dag. Opplæringen starter kl. 9 i resepsjonen.
offboard? Jeg har sagt opp, når er siste arbeidsdag?
offboard? Hva må jeg levere tilbake siste dag?
offboard! Siste dag avhenger av oppsigelsestiden. Lever tilbake PC og nøkler siste dag.
wear? Hvor får jeg nye arbeidsklær?
wear? Jeg har mistet adgangskortet mitt, hvordan får jeg et nytt?
wear! Nye arbeidsklær og nytt adgangskort henter du i resepsjonen.
team? Hvem er lederen min?
team? Hvordan får jeg tak i teamlederen på nattevakt?
team! Kontaktinformasjon til teamet og lederen din finner du i appen under «Team».
personal? Jeg har flyttet, hvordan endrer jeg adressen min?
personal? Hvordan oppdaterer jeg kontonummeret mitt?
personal! Personopplysninger som adresse og kontonummer endrer du i portalen under «Min profil».
access? Jeg har glemt passordet og kommer ikke inn.
access? Innloggingen i appen fungerer ikke lenger.
access! Du kan tilbakestille passordet via «Glemt passord» på innloggingssiden.
social? Når er neste teamsamling?
social? Blir det julebord i år?
social! Neste teamsamling blir annonsert på oppslagstavlen og i appen.
other? Kan du anbefale en god restaurant i nærheten?
other? Hvordan blir været i morgen?
other! Beklager, jeg kan bare hjelpe med spørsmål om jobben din.
follow? Kan du forklare det nærmere?
follow? Og hvor finner jeg det?
follow? Gjelder det også for deltidsansatte?
generic! Jeg sjekker det for deg.
generic! Du finner mer informasjon på medarbeiderportalen.
generic! Ja, det gjelder alle ansatte.
positive? Takk, det hjelper mye!
positive? Supert, takk for raskt svar!
positive? Perfekt, akkurat det jeg trengte.
negative? Dette er frustrerende, ingen svarer på spørsmålet mitt.
negative? Dette er uakseptabelt, jeg har ventet i flere uker.
negative? Dette hjelper ikke i det hele tatt, jeg er skikkelig irritert.
neutral? Greit.
neutral? Skjønner.
close! Bare hyggelig! Ha en fin dag.
close! Godt å kunne hjelpe. Lykke til!
sorry! Beklager det. Jeg sender spørsmålet ditt videre til HR.
sorry! Jeg forstår at du er frustrert. Noen fra HR tar kontakt med deg.
"""

_RAW["fi"] = """
greet? Hei!
greet? Huomenta, minulla on kysymys.
sched? Milloin vuoroni alkaa ensi viikolla?
sched? Voinko vaihtaa lauantain vuoroni kollegan kanssa?
sched! Työvuorolistasi löytyy sovelluksesta kohdasta ”Vuorot”. Vuoronvaihdot hyväksytään siellä.
leave? Montako lomapäivää minulla on vielä jäljellä tänä vuonna?
leave? Haluaisin hakea lomaa elokuulle.
leave! Lomaa haetaan portaalissa kohdassa ”Poissaolot”. Esihenkilösi hyväksyy hakemuksen.
sick? Olen tänään sairaana, kenelle minun pitää ilmoittaa?
sick? Tarvitsenko lääkärintodistuksen?
sick! Ilmoita sairastumisesta puhelimitse ennen työajan alkua. Pidempään poissaoloon tarvitset todistuksen.
salary? Milloin palkka maksetaan tässä kuussa?
salary? Palkkalaskelmassani on väärä tuntimäärä.
salary! Palkka maksetaan kuun 15. päivä. Palkkalaskelma löytyy portaalista.
contract? Voinko nostaa sopimukseni tuntimäärää 24:stä 32 tuntiin viikossa?
contract? Milloin määräaikainen sopimukseni päättyy?
contract! Sopimuksen tuntimäärän muutoksesta sovitaan HR:n kanssa, ja se vahvistetaan kirjallisesti.
onboard? Aloitan ensi maanantaina, mitä minun pitää ottaa mukaan ensimmäisenä päivänä?
onboard? Kuka on perehdyttäjäni?
onboard! Ota ensimmäisenä päivänä mukaan henkilöllisyystodistus ja pankkitietosi. Perehdytys alkaa klo 9.
offboard? Irtisanouduin, milloin on viimeinen työpäiväni?
offboard? Mitä minun pitää palauttaa viimeisenä päivänä?
offboard! Viimeinen työpäivä riippuu irtisanomisajasta. Palauta tietokone ja avaimet viimeisenä päivänä.
wear? Mistä saan uudet työvaatteet?
wear? Kadotin kulkukorttini, miten saan uuden?
wear! Uudet työvaatteet ja korvaavan kulkukortin saat vastaanotosta.
team? Kuka on esihenkilöni?
team? Miten tavoitan yövuoron tiiminvetäjän?
team! Tiimisi ja esihenkilösi yhteystiedot löytyvät sovelluksesta kohdasta ”Tiimi”.
personal? Muutin, miten vaihdan osoitteeni?
personal? Miten päivitän tilinumeroni?
personal! Henkilötietosi, kuten osoitteen ja tilinumeron, voit muuttaa portaalissa kohdassa ”Oma profiili”.
access? Unohdin salasanani enkä pääse kirjautumaan.
access? Kirjautuminen sovellukseen ei enää toimi.
access! Voit vaihtaa salasanan kirjautumissivun kohdasta ”Unohditko salasanan”.
social? Milloin on seuraava tiimitapahtuma?
social? Onko tänä vuonna pikkujoulut?
social! Seuraavasta tiimitapahtumasta ilmoitetaan ilmoitustaululla ja sovelluksessa.
other? Voitko suositella hyvää ravintolaa lähistöllä?
other? Millainen sää huomenna on?
other! Valitettavasti voin auttaa vain työhön liittyvissä kysymyksissä.
follow? Voitko selittää tarkemmin?
follow? Ja mistä löydän sen?
follow? Koskeeko tämä myös osa-aikaisia?
generic! Tarkistan asian sinulle.
generic! Lisätietoa löydät henkilöstöportaalista.
generic! Kyllä, tämä koskee kaikkia työntekijöitä.
positive? Kiitos, tämä auttoi paljon!
positive? Mahtavaa, kiitos nopeasta vastauksesta!
positive? Täydellistä, juuri tätä tarvitsin.
negative? Tämä on turhauttavaa, kukaan ei vastaa kysymykseeni.
negative? Tämä on kohtuutonta, olen odottanut viikkoja.
negative? Tästä ei ole mitään apua, olen todella ärsyyntynyt.
neutral? Selvä.
neutral? Okei.
close! Ole hyvä! Mukavaa päivänjatkoa.
close! Autan mielelläni. Onnea!
sorry! Pahoittelen. Välitän kysymyksesi HR:lle.
sorry! Ymmärrän turhautumisesi. Joku HR:stä ottaa sinuun yhteyttä.
"""

_RAW["pl"] = """
greet? Cześć!
greet? Dzień dobry, mam pytanie.
sched? O której zaczyna się moja zmiana w przyszłym tygodniu?
sched? Czy mogę zamienić się zmianą sobotnią z koleżanką?
sched! Twój grafik jest w aplikacji w zakładce „Grafik”. Tam zatwierdza się zamiany zmian.
leave? Ile dni urlopu zostało mi w tym roku?
leave? Chciałbym złożyć wniosek o urlop w sierpniu.
leave! Wniosek urlopowy składasz w portalu w zakładce „Nieobecności”. Zatwierdza go Twój przełożony.
sick? Jestem dziś chory, kogo muszę poinformować?
sick? Czy potrzebuję zwolnienia lekarskiego?
sick! Zgłoś nieobecność telefonicznie przed rozpoczęciem pracy. Lekarz wystawia zwolnienie elektronicznie.
salary? Kiedy w tym miesiącu zostanie wypłacona pensja?
salary? Na moim pasku wynagrodzeń jest zła liczba godzin.
salary! Wynagrodzenie jest wypłacane 10. dnia miesiąca. Pasek wynagrodzeń znajdziesz w portalu.
contract? Czy mogę zwiększyć wymiar etatu z 24 do 32 godzin tygodniowo?
contract? Kiedy kończy się moja umowa na czas określony?
contract! Zmianę wymiaru czasu pracy uzgadniasz z działem kadr, a potem dostajesz aneks do umowy.
onboard? Zaczynam w przyszły poniedziałek, co mam zabrać pierwszego dnia?
onboard? Kto będzie moim opiekunem podczas wdrożenia?
onboard! Pierwszego dnia weź dowód osobisty i numer konta. Wdrożenie zaczyna się o 9:00 w recepcji.
offboard? Złożyłem wypowiedzenie, kiedy jest mój ostatni dzień pracy?
offboard? Co muszę oddać ostatniego dnia?
offboard! Ostatni dzień zależy od okresu wypowiedzenia. Oddaj wtedy laptop i klucze.
wear? Gdzie mogę dostać nową odzież roboczą?
wear? Zgubiłem identyfikator, jak dostać nowy?
wear! Nową odzież roboczą i zastępczy identyfikator odbierzesz w recepcji.
team? Kto jest moim przełożonym?
team? Jak skontaktować się z kierownikiem nocnej zmiany?
team! Dane kontaktowe zespołu i przełożonego znajdziesz w aplikacji w zakładce „Zespół”.
personal? Przeprowadziłem się, jak zmienić adres?
personal? Jak zaktualizować numer konta bankowego?
personal! Dane osobowe, takie jak adres i numer konta, zmienisz w portalu w zakładce „Mój profil”.
access? Zapomniałem hasła i nie mogę się zalogować.
access? Logowanie do aplikacji przestało działać.
access! Hasło możesz zresetować przez „Nie pamiętam hasła” na stronie logowania.
social? Kiedy jest następna impreza integracyjna?
social? Czy w tym roku będzie wigilia firmowa?
social! O następnym wydarzeniu zespołowym informujemy na tablicy ogłoszeń i w aplikacji.
other? Możesz polecić dobrą restaurację w pobliżu?
other? Jaka będzie jutro pogoda?
other! Przykro mi, mogę pomóc tylko w sprawach związanych z pracą.
follow? Możesz to wyjaśnić dokładniej?
follow? A gdzie to znajdę?
follow? Czy to dotyczy też osób na części etatu?
generic! Zaraz to sprawdzę.
generic! Więcej informacji znajdziesz w portalu pracownika.
generic! Tak, to dotyczy wszystkich pracowników.
positive? Dziękuję, bardzo mi to pomogło!
positive? Super, dzięki za szybką odpowiedź!
positive? Idealnie, dokładnie tego potrzebowałem.
negative? To frustrujące, nikt nie odpowiada na moje pytanie.
negative? To niedopuszczalne, czekam już od tygodni.
negative? To w ogóle nie pomaga, jestem naprawdę zdenerwowany.
neutral? Dobrze.
neutral? Rozumiem.
close! Nie ma za co! Miłego dnia.
close! Cieszę się, że mogłem pomóc. Powodzenia!
sorry! Przepraszam za to. Przekażę Twoje pytanie do działu kadr.
sorry! Rozumiem Twoją frustrację. Ktoś z działu kadr się z Tobą skontaktuje.
"""

_RAW["cs"] = """
greet? Ahoj!
greet? Dobrý den, mám dotaz.
sched? Kdy mi příští týden začíná směna?
sched? Můžu si vyměnit sobotní směnu s kolegyní?
sched! Rozpis směn najdeš v aplikaci v sekci „Směny“. Výměny směn se schvalují tam.
leave? Kolik dní dovolené mi letos zbývá?
leave? Chtěl bych si požádat o dovolenou v srpnu.
leave! O dovolenou požádáš v portálu v sekci „Nepřítomnost“. Žádost schvaluje tvůj vedoucí.
sick? Dnes jsem nemocný, koho mám informovat?
sick? Potřebuji neschopenku od lékaře?
sick! Nemoc nahlas telefonicky před začátkem práce. Neschopenku posílá lékař elektronicky.
salary? Kdy bude tento měsíc vyplacena mzda?
salary? Na výplatní pásce mám špatný počet hodin.
salary! Mzda se vyplácí 15. dne v měsíci. Výplatní pásku najdeš v portálu.
contract? Můžu si zvýšit úvazek z 24 na 32 hodin týdně?
contract? Kdy mi končí smlouva na dobu určitou?
contract! Změnu úvazku domluvíš s personálním oddělením a dostaneš dodatek ke smlouvě.
onboard? Nastupuji příští pondělí, co si mám první den přinést?
onboard? Kdo bude můj patron během zaškolení?
onboard! První den si přines občanský průkaz a číslo účtu. Zaškolení začíná v 9:00 na recepci.
offboard? Podal jsem výpověď, kdy je můj poslední pracovní den?
offboard? Co musím poslední den vrátit?
offboard! Poslední den závisí na výpovědní lhůtě. Ten den vrať notebook a klíče.
wear? Kde dostanu nové pracovní oblečení?
wear? Ztratil jsem zaměstnaneckou kartu, jak získám novou?
wear! Nové pracovní oblečení a náhradní kartu si vyzvedneš na recepci.
team? Kdo je můj vedoucí?
team? Jak se spojím s vedoucím noční směny?
team! Kontakty na tvůj tým a vedoucího najdeš v aplikaci v sekci „Tým“.
personal? Přestěhoval jsem se, jak si změním adresu?
personal? Jak si aktualizuji číslo bankovního účtu?
personal! Osobní údaje, jako je adresa a číslo účtu, změníš v portálu v sekci „Můj profil“.
access? Zapomněl jsem heslo a nemůžu se přihlásit.
access? Přihlášení do aplikace už nefunguje.
access! Heslo si můžeš obnovit přes „Zapomenuté heslo“ na přihlašovací stránce.
social? Kdy bude další teambuilding?
social? Bude letos vánoční večírek?
social! Další týmová akce bude oznámena na nástěnce a v aplikaci.
other? Můžeš mi doporučit dobrou restauraci poblíž?
other? Jaké bude zítra počasí?
other! Promiň, můžu pomoct jen s dotazy týkajícími se práce.
follow? Můžeš to vysvětlit podrobněji?
follow? A kde to najdu?
follow? Platí to i pro zaměstnance na částečný úvazek?
generic! Hned to pro tebe ověřím.
generic! Více informací najdeš na zaměstnaneckém portálu.
generic! Ano, platí to pro všechny zaměstnance.
positive? Díky, moc mi to pomohlo!
positive? Super, děkuji za rychlou odpověď!
positive? Skvělé, přesně tohle jsem potřeboval.
negative? To je frustrující, nikdo mi na dotaz neodpovídá.
negative? To je nepřijatelné, čekám už několik týdnů.
negative? Vůbec mi to nepomáhá, jsem fakt naštvaný.
neutral? Dobře.
neutral? Rozumím.
close! Není zač! Hezký den.
close! Rád jsem pomohl. Hodně štěstí!
sorry! To mě mrzí. Předám tvůj dotaz personálnímu oddělení.
sorry! Chápu tvou frustraci. Někdo z personálního oddělení se ti ozve.
"""

_RAW["sk"] = """
greet? Ahoj!
greet? Dobrý deň, mám otázku.
sched? Kedy mi budúci týždeň začína zmena?
sched? Môžem si vymeniť sobotnú zmenu s kolegyňou?
sched! Rozpis zmien nájdeš v aplikácii v sekcii „Zmeny“. Výmeny zmien sa schvaľujú tam.
leave? Koľko dní dovolenky mi tento rok zostáva?
leave? Chcel by som požiadať o dovolenku v auguste.
leave! O dovolenku požiadaš v portáli v sekcii „Neprítomnosť“. Žiadosť schvaľuje tvoj vedúci.
sick? Dnes som chorý, koho mám informovať?
sick? Potrebujem potvrdenie o práceneschopnosti od lekára?
sick! Chorobu nahlás telefonicky pred začiatkom práce. Potvrdenie o PN posiela lekár elektronicky.
salary? Kedy bude tento mesiac vyplatená mzda?
salary? Na výplatnej páske mám zlý počet hodín.
salary! Mzda sa vypláca 15. dňa v mesiaci. Výplatnú pásku nájdeš v portáli.
contract? Môžem si zvýšiť úväzok z 24 na 32 hodín týždenne?
contract? Kedy mi končí zmluva na dobu určitú?
contract! Zmenu úväzku dohodneš s personálnym oddelením a dostaneš dodatok k zmluve.
onboard? Nastupujem budúci pondelok, čo si mám prvý deň priniesť?
onboard? Kto bude môj patrón počas zaškolenia?
onboard! Prvý deň si prines občiansky preukaz a číslo účtu. Zaškolenie začína o 9:00 na recepcii.
offboard? Podal som výpoveď, kedy je môj posledný pracovný deň?
offboard? Čo musím v posledný deň vrátiť?
offboard! Posledný deň závisí od výpovednej lehoty. V ten deň vráť notebook a kľúče.
wear? Kde dostanem nové pracovné oblečenie?
wear? Stratil som zamestnaneckú kartu, ako získam novú?
wear! Nové pracovné oblečenie a náhradnú kartu si vyzdvihneš na recepcii.
team? Kto je môj vedúci?
team? Ako sa spojím s vedúcim nočnej zmeny?
team! Kontakty na tvoj tím a vedúceho nájdeš v aplikácii v sekcii „Tím“.
personal? Presťahoval som sa, ako si zmením adresu?
personal? Ako si aktualizujem číslo bankového účtu?
personal! Osobné údaje, ako adresu a číslo účtu, zmeníš v portáli v sekcii „Môj profil“.
access? Zabudol som heslo a neviem sa prihlásiť.
access? Prihlásenie do aplikácie už nefunguje.
access! Heslo si môžeš obnoviť cez „Zabudnuté heslo“ na prihlasovacej stránke.
social? Kedy bude ďalší teambuilding?
social? Bude tento rok vianočný večierok?
social! Ďalšia tímová akcia bude oznámená na nástenke a v aplikácii.
other? Môžeš mi odporučiť dobrú reštauráciu v okolí?
other? Aké bude zajtra počasie?
other! Prepáč, môžem pomôcť len s otázkami týkajúcimi sa práce.
follow? Môžeš to vysvetliť podrobnejšie?
follow? A kde to nájdem?
follow? Platí to aj pre zamestnancov na čiastočný úväzok?
generic! Hneď to pre teba overím.
generic! Viac informácií nájdeš na zamestnaneckom portáli.
generic! Áno, platí to pre všetkých zamestnancov.
positive? Vďaka, veľmi mi to pomohlo!
positive? Super, ďakujem za rýchlu odpoveď!
positive? Výborne, presne toto som potreboval.
negative? Je to frustrujúce, nikto mi na otázku neodpovedá.
negative? To je neprijateľné, čakám už niekoľko týždňov.
negative? Vôbec mi to nepomáha, som naozaj nahnevaný.
neutral? Dobre.
neutral? Rozumiem.
close! Nie je za čo! Pekný deň.
close! Rád som pomohol. Veľa šťastia!
sorry! To ma mrzí. Tvoju otázku posuniem personálnemu oddeleniu.
sorry! Chápem tvoju frustráciu. Niekto z personálneho oddelenia sa ti ozve.
"""

_RAW["hu"] = """
greet? Szia!
greet? Jó reggelt, kérdésem lenne.
sched? Mikor kezdődik a műszakom jövő héten?
sched? Elcserélhetem a szombati műszakomat egy kollégával?
sched! A beosztásodat az alkalmazásban, a „Beosztás” menüpontban találod. A cseréket ott hagyják jóvá.
leave? Hány nap szabadságom maradt még idén?
leave? Augusztusra szeretnék szabadságot kérni.
leave! Szabadságot a portálon, a „Távollétek” menüpontban kérhetsz. A vezetőd hagyja jóvá a kérelmet.
sick? Ma beteg vagyok, kinek kell szólnom?
sick? Kell orvosi igazolás a betegszabadsághoz?
sick! Munkakezdés előtt telefonon jelentsd be, hogy beteg vagy. Az orvosi igazolást később add le.
salary? Mikor utalják a fizetést ebben a hónapban?
salary? A bérpapíromon rossz az óraszám.
salary! A fizetést a hónap 10. napján utaljuk. A bérpapírt a portálon találod.
contract? Megemelhetem a szerződéses óraszámomat heti 24-ről 32 órára?
contract? Mikor jár le a határozott idejű szerződésem?
contract! A szerződéses óraszám módosítását a HR-rel egyezteted, és írásban megerősítjük.
onboard? Jövő hétfőn kezdek, mit hozzak az első napon?
onboard? Ki lesz a mentorom a betanulás alatt?
onboard! Az első napon hozd a személyi igazolványodat és a bankszámlaszámodat. 9-kor kezdünk a recepción.
offboard? Felmondtam, mikor lesz az utolsó munkanapom?
offboard? Mit kell leadnom az utolsó napon?
offboard! Az utolsó nap a felmondási időtől függ. Aznap add le a laptopot és a kulcsokat.
wear? Hol kapok új munkaruhát?
wear? Elvesztettem a belépőkártyámat, hogyan kapok újat?
wear! Új munkaruhát és pótkártyát a recepción kapsz.
team? Ki a közvetlen vezetőm?
team? Hogyan érem el az éjszakai műszak csoportvezetőjét?
team! A csapatod és a vezetőd elérhetőségeit az alkalmazásban, a „Csapat” menüpontban találod.
personal? Elköltöztem, hogyan módosítsam a címemet?
personal? Hogyan frissíthetem a bankszámlaszámomat?
personal! A személyes adataidat, például a címedet, a portálon a „Profilom” alatt módosíthatod.
access? Elfelejtettem a jelszavamat, és nem tudok bejelentkezni.
access? Nem működik a bejelentkezés az alkalmazásba.
access! A jelszavadat a bejelentkezési oldalon az „Elfelejtett jelszó” linkkel állíthatod vissza.
social? Mikor lesz a következő csapatépítő?
social? Lesz idén karácsonyi buli?
social! A következő csapatprogramot a faliújságon és az alkalmazásban jelentjük be.
other? Tudsz ajánlani egy jó éttermet a közelben?
other? Milyen idő lesz holnap?
other! Sajnálom, csak a munkáddal kapcsolatos kérdésekben tudok segíteni.
follow? El tudnád magyarázni részletesebben?
follow? És hol találom ezt?
follow? Ez a részmunkaidősökre is vonatkozik?
generic! Utánanézek neked.
generic! További információt a munkavállalói portálon találsz.
generic! Igen, ez minden munkavállalóra vonatkozik.
positive? Köszönöm, ez sokat segített!
positive? Szuper, köszi a gyors választ!
positive? Tökéletes, pont erre volt szükségem.
negative? Ez frusztráló, senki nem válaszol a kérdésemre.
negative? Ez elfogadhatatlan, hetek óta várok.
negative? Ez egyáltalán nem segít, nagyon bosszús vagyok.
neutral? Rendben.
neutral? Értem.
close! Szívesen! Szép napot!
close! Örülök, hogy segíthettem. Sok sikert!
sorry! Sajnálom. Továbbítom a kérdésedet a HR-nek.
sorry! Megértem a bosszúságodat. A HR egyik munkatársa felveszi veled a kapcsolatot.
"""

_RAW["ro"] = """
greet? Salut!
greet? Bună dimineața, am o întrebare.
sched? La ce oră începe tura mea săptămâna viitoare?
sched? Pot să schimb tura de sâmbătă cu un coleg?
sched! Programul tău este în aplicație, la secțiunea „Program”. Schimburile de tură se aprobă acolo.
leave? Câte zile de concediu mi-au mai rămas anul acesta?
leave? Aș vrea să cer concediu de odihnă în august.
leave! Poți cere concediu în portal, la „Absențe”. Șeful tău direct aprobă cererea.
sick? Sunt bolnav azi, pe cine trebuie să anunț?
sick? Am nevoie de certificat medical?
sick! Anunță telefonic înainte de începerea programului. Certificatul de concediu medical îl dă medicul.
salary? Când se plătește salariul luna aceasta?
salary? Pe fluturașul de salariu apar ore greșite.
salary! Salariul se plătește pe 10 ale lunii. Fluturașul îl găsești în portal.
contract? Pot să trec de la 24 la 32 de ore pe săptămână în contract?
contract? Când se termină contractul meu pe perioadă determinată?
contract! Modificarea orelor din contract se discută cu HR și se confirmă printr-un act adițional.
onboard? Încep lunea viitoare, ce trebuie să aduc în prima zi?
onboard? Cine va fi mentorul meu în perioada de integrare?
onboard! În prima zi adu buletinul și datele bancare. Integrarea începe la ora 9 la recepție.
offboard? Mi-am dat demisia, care este ultima mea zi de lucru?
offboard? Ce trebuie să predau în ultima zi?
offboard! Ultima zi depinde de perioada de preaviz. În ultima zi predă laptopul și cheile.
wear? De unde pot lua o uniformă nouă?
wear? Mi-am pierdut legitimația de acces, cum obțin una nouă?
wear! Uniforma nouă și legitimația de înlocuire le primești de la recepție.
team? Cine este șeful meu direct?
team? Cum îl contactez pe șeful de echipă din tura de noapte?
team! Datele de contact ale echipei și ale șefului tău sunt în aplicație, la „Echipa”.
personal? M-am mutat, cum îmi schimb adresa?
personal? Cum îmi actualizez contul bancar?
personal! Datele personale, precum adresa și contul bancar, le modifici în portal, la „Profilul meu”.
access? Mi-am uitat parola și nu mă pot autentifica.
access? Nu mai funcționează autentificarea în aplicație.
access! Îți poți reseta parola prin „Am uitat parola” pe pagina de autentificare.
social? Când este următorul team building?
social? Anul acesta avem petrecere de Crăciun?
social! Următorul eveniment de echipă este anunțat la avizier și în aplicație.
other? Îmi poți recomanda un restaurant bun prin apropiere?
other? Cum va fi vremea mâine?
other! Îmi pare rău, pot ajuta doar cu întrebări legate de muncă.
follow? Poți să-mi explici mai detaliat?
follow? Și unde găsesc asta?
follow? Se aplică și angajaților cu normă parțială?
generic! Verific imediat pentru tine.
generic! Găsești mai multe informații în portalul angajaților.
generic! Da, se aplică tuturor angajaților.
positive? Mulțumesc, m-a ajutat mult!
positive? Super, mersi pentru răspunsul rapid!
positive? Perfect, exact de asta aveam nevoie.
negative? E frustrant, nimeni nu-mi răspunde la întrebare.
negative? E inacceptabil, aștept de câteva săptămâni.
negative? Nu mă ajută deloc, sunt foarte supărat.
neutral? Bine.
neutral? Am înțeles.
close! Cu plăcere! O zi bună!
close! Mă bucur că am putut ajuta. Succes!
sorry! Îmi pare rău. Îți trimit întrebarea către HR.
sorry! Înțeleg frustrarea ta. Un coleg de la HR te va contacta.
"""

_RAW["bg"] = """
greet? Здравей!
greet? Добро утро, имам въпрос.
sched? Кога започва смяната ми следващата седмица?
sched? Мога ли да разменя съботната си смяна с колега?
sched! Графикът ти е в приложението, в раздел „График“. Размените на смени се одобряват там.
leave? Колко дни отпуск ми остават тази година?
leave? Искам да пусна молба за отпуск през август.
leave! Отпуск заявяваш в портала, в раздел „Отсъствия“. Прекият ти ръководител одобрява молбата.
sick? Болен съм днес, кого трябва да уведомя?
sick? Трябва ли ми болничен лист?
sick! Обади се по телефона преди началото на работния ден. Болничният лист се издава от лекаря.
salary? Кога ще бъде изплатена заплатата този месец?
salary? Във фиша ми за заплата има грешен брой часове.
salary! Заплатата се изплаща на 10-о число. Фишът за заплата е в портала.
contract? Мога ли да увелича часовете по договор от 24 на 32 седмично?
contract? Кога изтича срочният ми договор?
contract! Промяната на часовете по договор се обсъжда с „Човешки ресурси“ и се потвърждава писмено.
onboard? Започвам следващия понеделник, какво да нося първия ден?
onboard? Кой ще ми бъде ментор по време на въвеждането?
onboard! Първия ден носи лична карта и банковите си данни. Въвеждането започва в 9:00 на рецепцията.
offboard? Подадох предизвестие, кога е последният ми работен ден?
offboard? Какво трябва да върна в последния ден?
offboard! Последният ден зависи от срока на предизвестието. Тогава върни лаптопа и ключовете.
wear? Откъде да взема ново работно облекло?
wear? Загубих служебната си карта, как да получа нова?
wear! Ново работно облекло и нова карта получаваш на рецепцията.
team? Кой е прекият ми ръководител?
team? Как да се свържа с ръководителя на нощната смяна?
team! Контактите на екипа и ръководителя ти са в приложението, в раздел „Екип“.
personal? Преместих се, как да сменя адреса си?
personal? Как да обновя банковата си сметка?
personal! Личните си данни, като адрес и банкова сметка, променяш в портала, в „Моят профил“.
access? Забравих паролата си и не мога да вляза.
access? Входът в приложението вече не работи.
access! Можеш да смениш паролата чрез „Забравена парола“ на страницата за вход.
social? Кога е следващото тиймбилдинг събитие?
social? Ще има ли коледно парти тази година?
social! Следващото екипно събитие се обявява на таблото и в приложението.
other? Можеш ли да ми препоръчаш добър ресторант наблизо?
other? Какво ще е времето утре?
other! Съжалявам, мога да помагам само с въпроси, свързани с работата.
follow? Можеш ли да обясниш по-подробно?
follow? А къде да го намеря?
follow? Важи ли това и за служителите на непълен работен ден?
generic! Ще проверя веднага.
generic! Повече информация има в портала за служители.
generic! Да, това важи за всички служители.
positive? Благодаря, много ми помогна!
positive? Супер, благодаря за бързия отговор!
positive? Чудесно, точно това ми трябваше.
negative? Това е много дразнещо, никой не отговаря на въпроса ми.
negative? Това е недопустимо, чакам от седмици.
negative? Това изобщо не помага, наистина съм ядосан.
neutral? Добре.
neutral? Разбрах.
close! Няма защо! Приятен ден!
close! Радвам се, че помогнах. Успех!
sorry! Съжалявам. Ще препратя въпроса ти към „Човешки ресурси“.
sorry! Разбирам раздразнението ти. Колега от „Човешки ресурси“ ще се свърже с теб.
"""

_RAW["hr"] = """
greet? Bok!
greet? Dobro jutro, imam pitanje.
sched? Kada mi počinje smjena sljedeći tjedan?
sched? Mogu li zamijeniti subotnju smjenu s kolegicom?
sched! Raspored smjena nalazi se u aplikaciji pod „Raspored”. Zamjene smjena odobravaju se ondje.
leave? Koliko mi je dana godišnjeg odmora ostalo ove godine?
leave? Želio bih zatražiti godišnji odmor u kolovozu.
leave! Godišnji odmor tražiš u portalu pod „Odsutnosti”. Tvoj nadređeni odobrava zahtjev.
sick? Danas sam bolestan, koga moram obavijestiti?
sick? Trebam li potvrdu liječnika za bolovanje?
sick! Javi se telefonom prije početka rada. Doznaku za bolovanje dobit ćeš od liječnika.
salary? Kada se ovaj mjesec isplaćuje plaća?
salary? Na platnoj listi imam krivi broj sati.
salary! Plaća se isplaćuje 15. u mjesecu. Platnu listu pronaći ćeš u portalu.
contract? Mogu li povećati ugovorene sate s 24 na 32 tjedno?
contract? Kada mi ističe ugovor na određeno?
contract! Promjena ugovorenih sati dogovara se s kadrovskom službom i potvrđuje pisanim putem.
onboard? Počinjem sljedeći ponedjeljak, što trebam ponijeti prvi dan?
onboard? Tko će biti moj mentor tijekom uvođenja u posao?
onboard! Prvi dan ponesi osobnu iskaznicu i podatke o računu. Uvođenje počinje u 9 sati na recepciji.
offboard? Dao sam otkaz, kada mi je zadnji radni dan?
offboard? Što moram vratiti zadnji dan?
offboard! Zadnji dan ovisi o otkaznom roku. Tada vrati laptop i ključeve.
wear? Gdje mogu dobiti novu radnu odjeću?
wear? Izgubio sam službenu karticu, kako dobiti novu?
wear! Novu radnu odjeću i zamjensku karticu preuzimaš na recepciji.
team? Tko je moj nadređeni?
team? Kako mogu dobiti voditelja noćne smjene?
team! Kontakte svog tima i nadređenog pronaći ćeš u aplikaciji pod „Tim”.
personal? Preselio sam se, kako promijeniti adresu?
personal? Kako ažurirati broj bankovnog računa?
personal! Osobne podatke, poput adrese i broja računa, mijenjaš u portalu pod „Moj profil”.
access? Zaboravio sam lozinku i ne mogu se prijaviti.
access? Prijava u aplikaciju više ne radi.
access! Lozinku možeš resetirati putem „Zaboravljena lozinka” na stranici za prijavu.
social? Kada je sljedeći team building?
social? Hoće li ove godine biti božićna zabava?
social! Sljedeće druženje tima objavljuje se na oglasnoj ploči i u aplikaciji.
other? Možeš li mi preporučiti dobar restoran u blizini?
other? Kakvo će sutra biti vrijeme?
other! Nažalost, mogu pomoći samo s pitanjima vezanima uz posao.
follow? Možeš li to detaljnije objasniti?
follow? A gdje to mogu pronaći?
follow? Vrijedi li to i za zaposlene na nepuno radno vrijeme?
generic! Odmah ću provjeriti.
generic! Više informacija pronaći ćeš na portalu za zaposlenike.
generic! Da, to vrijedi za sve zaposlenike.
positive? Hvala, puno mi je pomoglo!
positive? Super, hvala na brzom odgovoru!
positive? Savršeno, upravo to mi je trebalo.
negative? Ovo je frustrirajuće, nitko ne odgovara na moje pitanje.
negative? To je neprihvatljivo, čekam već tjednima.
negative? Ovo mi uopće ne pomaže, stvarno sam ljut.
neutral? U redu.
neutral? Razumijem.
close! Nema na čemu! Ugodan dan.
close! Drago mi je da sam pomogao. Sretno!
sorry! Žao mi je. Proslijedit ću tvoje pitanje kadrovskoj službi.
sorry! Razumijem tvoju frustraciju. Netko iz kadrovske službe javit će ti se.
"""

_RAW["sl"] = """
greet? Živjo!
greet? Dobro jutro, imam vprašanje.
sched? Kdaj se mi naslednji teden začne izmena?
sched? Ali lahko zamenjam sobotno izmeno s sodelavko?
sched! Razpored izmen najdeš v aplikaciji pod »Razpored«. Menjave izmen se potrjujejo tam.
leave? Koliko dni dopusta mi je letos še ostalo?
leave? Rad bi zaprosil za dopust avgusta.
leave! Dopust zahtevaš na portalu pod »Odsotnosti«. Zahtevo odobri tvoj nadrejeni.
sick? Danes sem bolan, koga moram obvestiti?
sick? Ali potrebujem zdravniško potrdilo?
sick! Pred začetkom dela se telefonsko javi, da si bolan. Bolniški list ti izda zdravnik.
salary? Kdaj bo ta mesec izplačana plača?
salary? Na plačilni listi imam napačno število ur.
salary! Plača se izplača 15. v mesecu. Plačilno listo najdeš na portalu.
contract? Ali lahko povečam pogodbene ure s 24 na 32 na teden?
contract? Kdaj se mi izteče pogodba za določen čas?
contract! Spremembo pogodbenih ur se dogovoriš s kadrovsko službo, potrdimo jo pisno.
onboard? Začnem naslednji ponedeljek, kaj moram prinesti prvi dan?
onboard? Kdo bo moj mentor med uvajanjem?
onboard! Prvi dan prinesi osebno izkaznico in podatke o bančnem računu. Uvajanje se začne ob 9. uri.
offboard? Dal sem odpoved, kdaj je moj zadnji delovni dan?
offboard? Kaj moram vrniti zadnji dan?
offboard! Zadnji dan je odvisen od odpovednega roka. Takrat vrni prenosnik in ključe.
wear? Kje dobim nova delovna oblačila?
wear? Izgubil sem službeno kartico, kako dobim novo?
wear! Nova delovna oblačila in nadomestno kartico prevzameš na recepciji.
team? Kdo je moj nadrejeni?
team? Kako dosežem vodjo nočne izmene?
team! Kontakte svoje ekipe in nadrejenega najdeš v aplikaciji pod »Ekipa«.
personal? Preselil sem se, kako spremenim naslov?
personal? Kako posodobim številko bančnega računa?
personal! Osebne podatke, kot sta naslov in bančni račun, spremeniš na portalu pod »Moj profil«.
access? Pozabil sem geslo in se ne morem prijaviti.
access? Prijava v aplikacijo ne deluje več.
access! Geslo lahko ponastaviš prek »Pozabljeno geslo« na strani za prijavo.
social? Kdaj bo naslednji teambuilding?
social? Bo letos novoletna zabava?
social! Naslednje druženje ekipe bo objavljeno na oglasni deski in v aplikaciji.
other? Mi lahko priporočiš dobro restavracijo v bližini?
other? Kakšno bo jutri vreme?
other! Žal lahko pomagam samo pri vprašanjih o delu.
follow? Lahko to podrobneje razložiš?
follow? In kje to najdem?
follow? Ali to velja tudi za zaposlene s krajšim delovnim časom?
generic! Takoj preverim zate.
generic! Več informacij najdeš na portalu za zaposlene.
generic! Da, to velja za vse zaposlene.
positive? Hvala, zelo mi je pomagalo!
positive? Super, hvala za hiter odgovor!
positive? Odlično, točno to sem potreboval.
negative? To je frustrirajoče, nihče ne odgovori na moje vprašanje.
negative? To je nesprejemljivo, čakam že več tednov.
negative? To mi sploh ne pomaga, res sem jezen.
neutral? V redu.
neutral? Razumem.
close! Ni za kaj! Lep dan še naprej.
close! Z veseljem. Srečno!
sorry! Žal mi je. Tvoje vprašanje posredujem kadrovski službi.
sorry! Razumem tvojo frustracijo. Nekdo iz kadrovske službe te bo kontaktiral.
"""

_RAW["et"] = """
greet? Tere!
greet? Tere hommikust, mul on küsimus.
sched? Millal mu vahetus järgmisel nädalal algab?
sched? Kas ma saan oma laupäevase vahetuse kolleegiga ära vahetada?
sched! Sinu graafik on rakenduses jaotises „Graafik“. Vahetuste muutmised kinnitatakse seal.
leave? Mitu puhkusepäeva mul sel aastal veel alles on?
leave? Soovin augustis puhkust taotleda.
leave! Puhkust saad taotleda portaalis jaotises „Puudumised“. Taotluse kinnitab sinu juht.
sick? Olen täna haige, keda ma pean teavitama?
sick? Kas ma vajan arstitõendit?
sick! Teavita enne tööpäeva algust telefoni teel. Haiguslehe avab perearst.
salary? Millal selle kuu palk makstakse?
salary? Minu palgalehel on vale tundide arv.
salary! Palk makstakse kuu 10. kuupäeval. Palgalehe leiad portaalist.
contract? Kas ma saan lepingu järgi töötunde tõsta 24-lt 32-le nädalas?
contract? Millal mu tähtajaline leping lõpeb?
contract! Lepingu tööaja muutmine lepitakse kokku personaliosakonnaga ja kinnitatakse kirjalikult.
onboard? Alustan järgmisel esmaspäeval, mida pean esimesel päeval kaasa võtma?
onboard? Kes on minu mentor sisseelamise ajal?
onboard! Võta esimesel päeval kaasa isikut tõendav dokument ja pangaandmed. Alustame kell 9.
offboard? Ma lahkun töölt, millal on minu viimane tööpäev?
offboard? Mida ma pean viimasel päeval tagastama?
offboard! Viimane päev sõltub etteteatamise ajast. Tagasta siis sülearvuti ja võtmed.
wear? Kust ma saan uued töörõivad?
wear? Kaotasin oma töötajakaardi, kuidas uue saan?
wear! Uued töörõivad ja asenduskaardi saad vastuvõtust.
team? Kes on minu otsene juht?
team? Kuidas ma öövahetuse meeskonnajuhiga ühendust saan?
team! Sinu meeskonna ja juhi kontaktid leiad rakenduses jaotises „Meeskond“.
personal? Kolisin, kuidas oma aadressi muuta?
personal? Kuidas pangakonto numbrit uuendada?
personal! Isikuandmeid, nagu aadress ja pangakonto, saad muuta portaalis jaotises „Minu profiil“.
access? Unustasin parooli ja ei saa sisse logida.
access? Rakendusse sisselogimine ei tööta enam.
access! Parooli saad lähtestada sisselogimislehel lingi „Unustasid parooli?“ kaudu.
social? Millal on järgmine meeskonnaüritus?
social? Kas sel aastal tuleb jõulupidu?
social! Järgmisest meeskonnaüritusest teatatakse teadetetahvlil ja rakenduses.
other? Kas oskad soovitada head restorani siin lähedal?
other? Milline ilm homme tuleb?
other! Vabandust, saan aidata ainult tööga seotud küsimustes.
follow? Kas saad seda täpsemalt selgitada?
follow? Ja kust ma selle leian?
follow? Kas see kehtib ka osalise tööajaga töötajatele?
generic! Kontrollin seda kohe sinu jaoks.
generic! Rohkem infot leiad töötajaportaalist.
generic! Jah, see kehtib kõigile töötajatele.
positive? Aitäh, see aitas väga!
positive? Super, aitäh kiire vastuse eest!
positive? Suurepärane, just seda mul vaja oligi.
negative? See on frustreeriv, keegi ei vasta mu küsimusele.
negative? See on vastuvõetamatu, ootan juba mitu nädalat.
negative? See ei aita üldse, olen tõesti pahane.
neutral? Selge.
neutral? Hästi.
close! Pole tänu väärt! Ilusat päeva!
close! Hea meel aidata. Edu!
sorry! Vabandan. Edastan su küsimuse personaliosakonnale.
sorry! Saan su pahameelest aru. Keegi personaliosakonnast võtab sinuga ühendust.
"""

_RAW["lv"] = """
greet? Sveiki!
greet? Labrīt, man ir jautājums.
sched? Kad nākamnedēļ sākas mana maiņa?
sched? Vai varu samainīt savu sestdienas maiņu ar kolēģi?
sched! Tavs grafiks ir lietotnē sadaļā “Grafiks”. Maiņu apmaiņu apstiprina tur.
leave? Cik atvaļinājuma dienu man šogad vēl ir palicis?
leave? Es vēlos pieteikt atvaļinājumu augustā.
leave! Atvaļinājumu piesaki portālā sadaļā “Prombūtne”. Pieteikumu apstiprina tavs vadītājs.
sick? Šodien esmu slims, kam man jāpaziņo?
sick? Vai man vajag ārsta izziņu?
sick! Pirms darba sākuma paziņo pa tālruni. Darbnespējas lapu atver ģimenes ārsts.
salary? Kad šomēnes tiks izmaksāta alga?
salary? Manā algas lapiņā ir nepareizs stundu skaits.
salary! Alga tiek izmaksāta katra mēneša 10. datumā. Algas lapiņu atradīsi portālā.
contract? Vai varu palielināt līgumā noteiktās stundas no 24 uz 32 nedēļā?
contract? Kad beidzas mans terminētais darba līgums?
contract! Līguma stundu izmaiņas saskaņo ar personāla daļu, un tās apstiprina rakstiski.
onboard? Sāku strādāt nākamajā pirmdienā, kas man jāņem līdzi pirmajā dienā?
onboard? Kas būs mans mentors ievadapmācības laikā?
onboard! Pirmajā dienā paņem personu apliecinošu dokumentu un bankas rekvizītus. Sākam plkst. 9.
offboard? Es aizeju no darba, kad ir mana pēdējā darba diena?
offboard? Kas man jānodod pēdējā dienā?
offboard! Pēdējā diena ir atkarīga no uzteikuma termiņa. Tad nodod klēpjdatoru un atslēgas.
wear? Kur varu saņemt jaunu darba apģērbu?
wear? Es pazaudēju darbinieka karti, kā saņemt jaunu?
wear! Jaunu darba apģērbu un aizstājošu karti saņemsi reģistratūrā.
team? Kas ir mans tiešais vadītājs?
team? Kā sazināties ar nakts maiņas komandas vadītāju?
team! Tavas komandas un vadītāja kontaktus atradīsi lietotnē sadaļā “Komanda”.
personal? Es pārcēlos, kā nomainīt adresi?
personal? Kā atjaunināt bankas konta numuru?
personal! Personas datus, piemēram, adresi un bankas kontu, vari mainīt portālā sadaļā “Mans profils”.
access? Aizmirsu paroli un nevaru pieslēgties.
access? Pieslēgšanās lietotnei vairs nedarbojas.
access! Paroli vari atiestatīt pieslēgšanās lapā, izvēloties “Aizmirsi paroli?”.
social? Kad būs nākamais komandas pasākums?
social? Vai šogad būs Ziemassvētku ballīte?
social! Par nākamo komandas pasākumu paziņosim ziņojumu dēlī un lietotnē.
other? Vai vari ieteikt labu restorānu tuvumā?
other? Kāds rīt būs laiks?
other! Atvaino, varu palīdzēt tikai ar jautājumiem par darbu.
follow? Vai vari to paskaidrot sīkāk?
follow? Un kur es to varu atrast?
follow? Vai tas attiecas arī uz nepilna laika darbiniekiem?
generic! Tūlīt pārbaudīšu.
generic! Vairāk informācijas atradīsi darbinieku portālā.
generic! Jā, tas attiecas uz visiem darbiniekiem.
positive? Paldies, tas ļoti palīdzēja!
positive? Lieliski, paldies par ātro atbildi!
positive? Perfekti, tieši to man vajadzēja.
negative? Tas ir nomācoši, neviens neatbild uz manu jautājumu.
negative? Tas ir nepieņemami, es gaidu jau vairākas nedēļas.
negative? Tas nemaz nepalīdz, esmu patiešām sadusmots.
neutral? Labi.
neutral? Skaidrs.
close! Lūdzu! Jauku dienu!
close! Prieks palīdzēt. Veiksmi!
sorry! Atvainojos. Pārsūtīšu tavu jautājumu personāla daļai.
sorry! Saprotu tavu neapmierinātību. Kāds no personāla daļas ar tevi sazināsies.
"""

_RAW["lt"] = """
greet? Labas!
greet? Labas rytas, turiu klausimą.
sched? Kada kitą savaitę prasideda mano pamaina?
sched? Ar galiu sukeisti savo šeštadienio pamainą su kolega?
sched! Tavo grafikas yra programėlėje, skiltyje „Grafikas“. Pamainų keitimai patvirtinami ten.
leave? Kiek atostogų dienų man šiemet dar liko?
leave? Norėčiau prašyti atostogų rugpjūtį.
leave! Atostogų prašymą pateik portale, skiltyje „Nebuvimas“. Prašymą tvirtina tavo vadovas.
sick? Šiandien sergu, ką turiu informuoti?
sick? Ar man reikia gydytojo pažymos?
sick! Prieš darbo pradžią pranešk telefonu. Nedarbingumo pažymėjimą išduoda gydytojas.
salary? Kada šį mėnesį bus išmokėtas atlyginimas?
salary? Mano algalapyje nurodytas neteisingas valandų skaičius.
salary! Atlyginimas mokamas kiekvieno mėnesio 10 d. Algalapį rasi portale.
contract? Ar galiu padidinti sutartyje numatytas valandas nuo 24 iki 32 per savaitę?
contract? Kada baigiasi mano terminuota darbo sutartis?
contract! Sutarties valandų pakeitimas derinamas su personalo skyriumi ir patvirtinamas raštu.
onboard? Pradedu dirbti kitą pirmadienį, ką turiu atsinešti pirmą dieną?
onboard? Kas bus mano mentorius įvadinio mokymo metu?
onboard! Pirmą dieną atsinešk asmens dokumentą ir banko rekvizitus. Pradedame 9 val. registratūroje.
offboard? Išeinu iš darbo, kada mano paskutinė darbo diena?
offboard? Ką turiu grąžinti paskutinę dieną?
offboard! Paskutinė diena priklauso nuo įspėjimo termino. Tą dieną grąžink kompiuterį ir raktus.
wear? Kur galiu gauti naujus darbo drabužius?
wear? Pamečiau darbuotojo kortelę, kaip gauti naują?
wear! Naujus darbo drabužius ir kortelę pakeitimui gausi registratūroje.
team? Kas yra mano tiesioginis vadovas?
team? Kaip susisiekti su naktinės pamainos komandos vadovu?
team! Tavo komandos ir vadovo kontaktus rasi programėlėje, skiltyje „Komanda“.
personal? Persikrausčiau, kaip pakeisti adresą?
personal? Kaip atnaujinti banko sąskaitos numerį?
personal! Asmens duomenis, pavyzdžiui, adresą, gali pakeisti portale, skiltyje „Mano profilis“.
access? Pamiršau slaptažodį ir negaliu prisijungti.
access? Prisijungimas prie programėlės nebeveikia.
access! Slaptažodį gali atkurti prisijungimo puslapyje paspaudęs „Pamiršote slaptažodį?“.
social? Kada bus kitas komandos renginys?
social? Ar šiemet bus kalėdinis vakarėlis?
social! Apie kitą komandos renginį paskelbsime skelbimų lentoje ir programėlėje.
other? Ar gali rekomenduoti gerą restoraną netoliese?
other? Koks rytoj bus oras?
other! Atsiprašau, galiu padėti tik su darbu susijusiais klausimais.
follow? Ar gali paaiškinti išsamiau?
follow? O kur tai rasti?
follow? Ar tai galioja ir dirbantiems ne visą darbo dieną?
generic! Tuoj patikrinsiu.
generic! Daugiau informacijos rasi darbuotojų portale.
generic! Taip, tai galioja visiems darbuotojams.
positive? Ačiū, labai padėjo!
positive? Puiku, ačiū už greitą atsakymą!
positive? Tobula, būtent to man reikėjo.
negative? Tai erzina, niekas neatsako į mano klausimą.
negative? Tai nepriimtina, laukiu jau kelias savaites.
negative? Tai visai nepadeda, esu tikrai susierzinęs.
neutral? Gerai.
neutral? Supratau.
close! Prašom! Geros dienos!
close! Malonu padėti. Sėkmės!
sorry! Atsiprašau. Perduosiu tavo klausimą personalo skyriui.
sorry! Suprantu tavo nusivylimą. Su tavimi susisieks kas nors iš personalo skyriaus.
"""

_RAW["el"] = """
greet? Γεια σας!
greet? Καλημέρα, έχω μια ερώτηση.
sched? Τι ώρα ξεκινάει η βάρδιά μου την επόμενη εβδομάδα;
sched? Μπορώ να αλλάξω τη βάρδια του Σαββάτου με έναν συνάδελφο;
sched! Το πρόγραμμά σας είναι στην εφαρμογή, στην ενότητα «Πρόγραμμα». Οι αλλαγές εγκρίνονται εκεί.
leave? Πόσες μέρες άδειας μου έχουν μείνει φέτος;
leave? Θα ήθελα να ζητήσω άδεια τον Αύγουστο.
leave! Ζητήστε άδεια στην πύλη, στην ενότητα «Απουσίες». Ο προϊστάμενός σας εγκρίνει το αίτημα.
sick? Είμαι άρρωστος σήμερα, ποιον πρέπει να ενημερώσω;
sick? Χρειάζομαι βεβαίωση από γιατρό για την αναρρωτική άδεια;
sick! Ενημερώστε τηλεφωνικά πριν από την έναρξη της εργασίας. Θα χρειαστεί βεβαίωση γιατρού.
salary? Πότε θα πληρωθεί ο μισθός αυτόν τον μήνα;
salary? Στην εκκαθάριση μισθοδοσίας μου οι ώρες είναι λάθος.
salary! Ο μισθός καταβάλλεται στις 25 του μήνα. Την εκκαθάριση θα τη βρείτε στην πύλη.
contract? Μπορώ να αυξήσω τις ώρες της σύμβασής μου από 24 σε 32 την εβδομάδα;
contract? Πότε λήγει η σύμβασή μου ορισμένου χρόνου;
contract! Η αλλαγή των ωρών της σύμβασης συμφωνείται με το τμήμα προσωπικού και επιβεβαιώνεται γραπτώς.
onboard? Ξεκινάω την επόμενη Δευτέρα, τι πρέπει να φέρω την πρώτη μέρα;
onboard? Ποιος θα είναι ο μέντοράς μου κατά την ένταξη;
onboard! Την πρώτη μέρα φέρτε την ταυτότητά σας και τα τραπεζικά σας στοιχεία. Ξεκινάμε στις 9:00.
offboard? Υπέβαλα παραίτηση, ποια είναι η τελευταία μου μέρα;
offboard? Τι πρέπει να επιστρέψω την τελευταία μέρα;
offboard! Η τελευταία μέρα εξαρτάται από την προειδοποίηση. Τότε επιστρέψτε το λάπτοπ και τα κλειδιά.
wear? Πού μπορώ να πάρω καινούργια στολή εργασίας;
wear? Έχασα την κάρτα εργαζομένου, πώς παίρνω καινούργια;
wear! Νέα στολή και κάρτα αντικατάστασης θα παραλάβετε από την υποδοχή.
team? Ποιος είναι ο προϊστάμενός μου;
team? Πώς επικοινωνώ με τον υπεύθυνο της νυχτερινής βάρδιας;
team! Τα στοιχεία της ομάδας και του προϊσταμένου σας είναι στην εφαρμογή, στην ενότητα «Ομάδα».
personal? Μετακόμισα, πώς αλλάζω τη διεύθυνσή μου;
personal? Πώς ενημερώνω τον αριθμό του τραπεζικού μου λογαριασμού;
personal! Τα προσωπικά σας στοιχεία, όπως τη διεύθυνση, τα αλλάζετε στην πύλη, στο «Το προφίλ μου».
access? Ξέχασα τον κωδικό μου και δεν μπορώ να συνδεθώ.
access? Η σύνδεση στην εφαρμογή δεν λειτουργεί πια.
access! Μπορείτε να επαναφέρετε τον κωδικό μέσω του «Ξέχασα τον κωδικό» στη σελίδα σύνδεσης.
social? Πότε είναι η επόμενη εκδήλωση της ομάδας;
social? Θα γίνει χριστουγεννιάτικο πάρτι φέτος;
social! Η επόμενη εκδήλωση της ομάδας ανακοινώνεται στον πίνακα ανακοινώσεων και στην εφαρμογή.
other? Μπορείτε να μου προτείνετε ένα καλό εστιατόριο εδώ κοντά;
other? Τι καιρό θα κάνει αύριο;
other! Λυπάμαι, μπορώ να βοηθήσω μόνο με ερωτήσεις για την εργασία σας.
follow? Μπορείτε να το εξηγήσετε πιο αναλυτικά;
follow? Και πού θα το βρω αυτό;
follow? Ισχύει αυτό και για όσους εργάζονται με μερική απασχόληση;
generic! Θα το ελέγξω αμέσως.
generic! Περισσότερες πληροφορίες θα βρείτε στην πύλη εργαζομένων.
generic! Ναι, ισχύει για όλους τους εργαζόμενους.
positive? Ευχαριστώ, με βοήθησε πολύ!
positive? Τέλεια, ευχαριστώ για τη γρήγορη απάντηση!
positive? Εξαιρετικά, ακριβώς αυτό χρειαζόμουν.
negative? Είναι απογοητευτικό, κανείς δεν απαντά στην ερώτησή μου.
negative? Αυτό είναι απαράδεκτο, περιμένω εδώ και εβδομάδες.
negative? Αυτό δεν βοηθάει καθόλου, είμαι πραγματικά εκνευρισμένος.
neutral? Εντάξει.
neutral? Κατάλαβα.
close! Παρακαλώ! Καλή σας μέρα.
close! Χαρά μου να βοηθήσω. Καλή επιτυχία!
sorry! Λυπάμαι γι' αυτό. Θα προωθήσω την ερώτησή σας στο τμήμα προσωπικού.
sorry! Καταλαβαίνω την απογοήτευσή σας. Κάποιος από το τμήμα προσωπικού θα επικοινωνήσει μαζί σας.
"""

_RAW["mt"] = """
greet? Bongu!
greet? Bongu, għandi mistoqsija.
sched? Meta jibda x-xift tiegħi l-ġimgħa d-dieħla?
sched? Nista' nbiddel ix-xift tas-Sibt ma' kollega?
sched! L-iskeda tiegħek tinsab fl-app taħt "Skeda". Il-bidliet tax-xift jiġu approvati hemmhekk.
leave? Kemm fadalli ġranet ta' vaganza din is-sena?
leave? Nixtieq nitlob vaganza f'Awwissu.
leave! Tista' titlob il-vaganza fil-portal taħt "Assenzi". Is-superjur tiegħek japprova t-talba.
sick? Jien marid illum, lil min għandi ninforma?
sick? Għandi bżonn ċertifikat mediku?
sick! Ċempel qabel ma tibda x-xogħol. Mit-tielet jum għandek bżonn ċertifikat mit-tabib.
salary? Meta se titħallas il-paga dan ix-xahar?
salary? Il-payslip tiegħi għandu n-numru ħażin ta' sigħat.
salary! Il-paga titħallas fil-25 tax-xahar. Il-payslip issibu fil-portal.
contract? Nista' nżid is-sigħat tal-kuntratt tiegħi minn 24 għal 32 fil-ġimgħa?
contract? Meta jispiċċa l-kuntratt definit tiegħi?
contract! Bidla fis-sigħat tal-kuntratt tiġi miftiehma mal-HR u kkonfermata bil-miktub.
onboard? Nibda t-Tnejn li ġej, x'għandi nġib miegħi l-ewwel jum?
onboard? Min se jkun il-mentor tiegħi waqt l-induction?
onboard! L-ewwel jum ġib il-karta tal-identità u d-dettalji tal-bank. Nibdew fid-9:00 fir-reception.
offboard? Irriżenjajt, meta hu l-aħħar jum tax-xogħol tiegħi?
offboard? X'għandi nirritorna fl-aħħar jum?
offboard! L-aħħar jum jiddependi mill-perjodu ta' avviż. Irritorna l-laptop u ċ-ċwievet f'dak il-jum.
wear? Fejn nista' nieħu uniformi ġdida?
wear? Tlift il-badge tiegħi, kif nieħu wieħed ġdid?
wear! Uniformi ġdida u badge ġdid tiġborhom mir-reception.
team? Min hu s-superjur tiegħi?
team? Kif nikkuntattja lill-kap tat-tim tax-xift tal-lejl?
team! Id-dettalji tal-kuntatt tat-tim u tas-superjur tiegħek issibhom fl-app taħt "Tim".
personal? Biddilt l-indirizz, kif naġġornah?
personal? Kif nibdel in-numru tal-kont tal-bank?
personal! Id-dettalji personali, bħall-indirizz, tista' tbiddilhom fil-portal taħt "Il-profil tiegħi".
access? Insejt il-password u ma nistax nidħol.
access? Il-login tal-app ma għadux jaħdem.
access! Tista' terġa' tissettja l-password permezz ta' "Insejt il-password" fil-paġna tal-login.
social? Meta hi l-attività li jmiss tat-tim?
social? Se jkun hemm festa tal-Milied din is-sena?
social! L-attività li jmiss tat-tim titħabbar fuq il-bord tal-avviżi u fl-app.
other? Tista' tirrakkomandali restorant tajjeb fil-qrib?
other? Kif se jkun it-temp għada?
other! Skużani, nista' ngħin biss f'mistoqsijiet dwar ix-xogħol.
follow? Tista' tispjegali aktar fid-dettall?
follow? U fejn insibha?
follow? Dan japplika wkoll għal min jaħdem part-time?
generic! Ħa niċċekkja għalik.
generic! Aktar informazzjoni ssibha fil-portal tal-impjegati.
generic! Iva, dan japplika għall-impjegati kollha.
positive? Grazzi, għenitni ħafna!
positive? Eċċellenti, grazzi tat-tweġiba malajr!
positive? Perfett, eżatt dak li kelli bżonn.
negative? Dan frustranti, ħadd ma qed iwieġeb il-mistoqsija tiegħi.
negative? Dan mhux aċċettabbli, ilni ġimgħat nistenna.
negative? Dan ma jgħinni xejn, jien irrabjat ħafna.
neutral? Tajjeb.
neutral? Fhimt.
close! M'hemmx imnejn! Il-ġurnata t-tajba.
close! Bil-pjaċir. Nixtieqlek kull suċċess!
sorry! Skużani. Se ngħaddi l-mistoqsija tiegħek lill-HR.
sorry! Nifhem il-frustrazzjoni tiegħek. Xi ħadd mill-HR se jikkuntattjak.
"""


def _parse(language: str, text: str) -> LanguagePhrases:
    user: dict[str, list[str]] = {}
    assistant: dict[str, list[str]] = {}
    for lineno, raw in enumerate(text.strip().splitlines(), start=1):
        head, _, phrase = raw.strip().partition(" ")
        code, marker, phrase = head[:-1], head[-1:], phrase.strip()
        key = TOPIC_CODES.get(code, code)
        side = {"?": user, "!": assistant}.get(marker)
        if side is None or not phrase:
            raise ValueError(f"phrases {language}:{lineno}: expected '<key>? text' or '<key>! text'")
        side.setdefault(key, []).append(phrase)
    need_user = {*CATEGORIES, *USER_PARTS}
    need_assistant = {*CATEGORIES, *ASSISTANT_PARTS}
    if set(user) != need_user or set(assistant) != need_assistant:
        missing = sorted((need_user - set(user)) | (need_assistant - set(assistant)))
        extra = sorted((set(user) - need_user) | (set(assistant) - need_assistant))
        raise ValueError(f"phrases {language}: missing {missing}, unknown {extra}")
    return LanguagePhrases(
        language=language,
        user=MappingProxyType({k: tuple(v) for k, v in user.items()}),
        assistant=MappingProxyType({k: tuple(v) for k, v in assistant.items()}),
    )


if set(_RAW) != set(LANGUAGES):
    raise ValueError(f"phrase tables must cover exactly the languages: {sorted(set(_RAW) ^ set(LANGUAGES))}")

#: Language code -> its phrases; every language has every topic and conversation part.
PHRASES: Mapping[str, LanguagePhrases] = MappingProxyType(
    {lang: _parse(lang, _RAW[lang]) for lang in LANGUAGES}
)

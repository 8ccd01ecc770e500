"""Stand-in model vocabulary: English, German, French, Spanish, Italian, Portuguese, Dutch.

Syntax: see :mod:`emulator.lexicon` (``stem``, ``=exact``, ``*part``, ``a_b``, ``^w``).
"""

from __future__ import annotations

WEST: dict[str, str] = {
    "en": """
stop: like take a off around get need want just some any if so as by up out or but all new they we
  our us he she his her them been were should may might also than then now only very much many more
  next why here into after before over few know tell yes no its got still already the and is are was
  you your my me to of it in on at have has for with this that what when where how can could would i
  not please hello hi do does did an be will there which who from about am
pos: thanks thank great perfect helpful excellent happy glad awesome resolved appreciate wonderful
  fantastic amazing solved pleased brilliant =super =good^0.5 =nice^0.5 =love =cheers
neg: terrible awful angry frustrat annoyed annoying unacceptable disappoint =hate useless complain
  ridiculous =worst horrible upset unfair outrage furious =bad =broken pathetic
not: not no never don't doesn't didn't isn't wasn't can't won't nothing nobody
sched: schedul shift roster rota timetable =swap =swaps =swapping working_hours what_time_do
leave: vacation holiday annual_leave days_off day_off =pto =leave time_off =easter parental_leave
  unpaid_leave public_holiday days_of_leave
sick: sick =ill illness doctor recover sick_leave sick_note medical injur surgery unwell hospital
  fever flu =cold influenza =pain accident sick_day hurt injured
salary: salary =pay =paid payslip pay_slip payroll wage bonus compensation overtime paycheck payment
  reimburs expenses allowance pay_rise wages =raise underpaid holiday_pay^3 holiday_bonus^3
contract: contract part_time^1 full_time hours_per_week hours_a_week =fte weekly_hours permanent
  reduce_my_hours more_hours fewer_hours
onboard: onboarding first_day =buddy new_hire new_starter start_date orientation induction mentor
  first_week welcome_day new_colleague induction_training starting_date
offboard: resign =quit quitting notice_period last_day last_working terminat offboarding
  leaving_the_company exit_interview handing_in_my_notice hand_in_my_notice =notice leaving_date
wear: uniform workwear badge staff_pass id_card clothing shoes lanyard access_card key_card =pass
  boots safety_shoes jacket trousers locker
team: manager supervisor team_lead team_leader teamlead contact line_manager =boss who_is_my^1
personal: address =moved =move =moving bank_account bank_details account_number personal_details
  personal_data name_change marital married emergency_contact iban got_married surname last_name
  maiden_name tax_code phone_number^1 emergenc^2
access: =login log_in log_on sign_in password locked username =reset two_factor access
  account_is_locked locked_out verification_code =pin
social: party event team_building teambuilding social celebrat birthday outing drinks christmas
  summer_party barbecue get_together christmas_party team_dinner after_work
""",
    "de": """
stop: möchte kannst könnte würde nur schon jetzt heute morgen hier dort sehr viel mehr weil wenn
  dann ob über nach bei aus vom zum zur ihr ihre euch einem einer eines kein keine wieder immer
  gerade etwas der die das und ist ich nicht sie mit ein eine einen zu auf für wie bitte danke mein
  meine meinen habe hallo wann wo was wer kann es den dem des im am von noch auch oder aber wird
  werden bin sich mich mir dir du dein deine deinen uns sind hat wir gibt muss
pos: danke dank super toll prima perfekt klasse wunderbar hervorragend ausgezeichnet hilfreich =gut
  genial spitze zufrieden freue
neg: frustr ärger verärger enttäusch inakzeptabel unverschämt schlecht furchtbar schrecklich nervig
  genervt sauer wütend katastroph unzufrieden miserabel lächerlich unfair
not: nicht kein keine keinen nie niemals nichts niemand
sched: *schicht dienstplan schichtplan *tausch einsatzplan schichtbeginn
leave: urlaub *urlaub ferien feiertag *feiertag freie_tag =frei brückentag ostern urlaubstag
  elternzeit =freinehmen frei_nehmen sonderurlaub
sick: krank *krank *arzt ärztlich attest genesung arbeitsunfähig au_bescheinigung grippe fieber
  erkält schmerz unfall verletz verletzt
salary: gehalt *gehalt lohn *lohn *abrechnung überweis auszahl prämie bonus zuschlag überstunden
  vergütung spesen weihnachtsgeld urlaubsgeld =verdient gehaltserhöhung
contract: vertrag *vertrag befrist teilzeit *teilzeit vollzeit stundenzahl wochenstunden
  stunden_pro_woche arbeitsstunden stunden_reduzier
onboard: einarbeitung *einarbeit erst_tag erst_arbeitstag onboarding =pate =paten mentor einstieg
  einführung neue_mitarbeiter erst_woche einführungstag schulung neue_kollegen
offboard: kündig *kündig letzt_arbeitstag letzt_tag austritt ausscheid aufhebungsvertrag *zeugnis
  *kündigen
wear: *kleidung uniform *ausweis schuhe sicherheitsschuh namensschild badge zugangskarte chipkarte
  *schuhe arbeitsschuh jacke hose spind
team: teamleit^2 *leiter vorgesetzt führungskraft chef =chefin ansprechpartner kontakt *kontakt
  abteilungsleit
personal: adresse *adresse umzug umgezogen umziehen kontonummer bankverbindung iban persönlich_dat
  personalien namensänderung steuer familienstand heirat notfallkontakt anschrift geheiratet
  nachname =namen namensänder *notfall^2
access: passwort *passwort kennwort anmeld login *login einlogg zugang gesperrt benutzername
  zurücksetz konto_gesperrt =gesperrt code zwei_faktor
social: feier *feier sommerfest betriebsfest firmenfest teamevent *event ausflug party weihnacht
  *weihnacht grillen teamabend geburtstag *teambuilding *fest
""",
    "fr": """
stop: voudrais veux peut pouvez faire fait avoir être été aussi mais donc car si bien tout tous
  toute leur leurs ces ça cela à en chez sans sous après avant depuis encore déjà toujours aujourd
  demain le la les et est je pas vous une un des pour avec mon ma mes que merci bonjour sur ne du de
  dans au aux qui quoi comment quand où il elle ce cette ai suis peux puis votre vos nous on plus
  très dois quel quelle
pos: merci parfait super génial excellent formidable =top ravi content impeccable nickel utile
neg: frustr inacceptable agacé énervé mécontent déçu décevant =nul scandaleu ridicule insupportable
  furieu lamentable honteu catastroph horrible inadmissible marre
not: pas ne jamais non personne rien
sched: planning horaire =service =services emploi_du_temps roulement =échanger
leave: congé vacances =rtt jours_de_congé férié pâques congé_parental congé_sans_solde jour_férié
  jours_off
sick: malade maladie médecin arrêt_de_travail arrêt_maladie =arrêt médical hospitalis convalescen
  souffrant grippe fièvre rhume =mal douleur accident bless blessé
salary: salaire fiche_de_paie =paie bulletin_de_paie =paye prime rémunération heures_supplémentaires
  augmentation acompte payé rémunér prime_de_vacances^3
contract: contrat *contrat =cdd =cdi temps_partiel^1 temps_plein =avenant heures_par_semaine
  mi_temps hebdomadaire
onboard: premier_jour intégration parrain marraine onboarding nouvel_arrivant embauche je_commence^1
  première_semaine formation_d_accueil journée_d_accueil nouveau_collègue
offboard: démission démissionn dernier_jour préavis rupture_conventionnelle licenci solde_de_tout
  quitter_l_entreprise
wear: tenue uniforme badge carte_professionnelle vêtement chaussures_de_sécurité blouse
  carte_d_accès chaussures veste pantalon casier
team: responsable chef_d_équipe^3 =chef manager supérieur coordonnées contacter joindre
  interlocuteur
personal: adresse déménag coordonnées_bancaires^3 =rib iban données_personnelles
  informations_personnelles numéro_de_compte situation_familiale mariage état_civil mariée marié
  nom_de_famille changé_de_nom =nom urgence^2
access: mot_de_passe identifiant connect login réinitialis bloqué accès compte_bloqué =bloqué
  code_de_vérification
social: fête soirée événement noël séminaire team_building afterwork anniversaire repas_d_équipe
  barbecue pot_de_fin_d_année =pot fête_d_été dîner_d_équipe
""",
    "es": """
stop: he has ha hemos han quiero puede puedes hacer tiene tienen también pero porque si ya todavía
  hoy mañana aquí algo todo todos nos les sus esto eso otra otro cuando desde hasta sin sobre entre
  el la los las y es que yo no una un para con por mi mis gracias hola cómo qué cuándo dónde de del
  en al me se lo le tengo puedo este esta está hay muy su tu sí necesito
pos: gracias genial perfect excelente estupend fantástic maravill útil buenísimo
neg: frustr inaceptable molest enfad indignad decepcion =fatal horrible terrible vergüenza harto
  ridícul pésim cabread
not: no nunca ni tampoco nadie nada
sched: turno horario cuadrante jornada planificación
leave: vacacion días_libres día_libre =permiso festivo asuntos_propios semana_santa
  permiso_de_paternidad permiso_de_maternidad día_festivo
sick: enferm médic =baja baja_médica parte_de_baja incapacidad recuperación hospital gripe fiebre
  resfriado dolor accidente lesión herid daño lesion
salary: sueldo salario nómina =paga =pagan =pago horas_extra bonificación retribución anticipo cobré
  =cobro cobrar
contract: contrato tiempo_parcial^1 jornada_completa media_jornada horas_semanales indefinido
onboard: primer_día incorporación =mentor onboarding acogida bienvenida =empiezo nuevo_empleado
  primera_semana formación_de_bienvenida =bienvenida
offboard: dimisión dimitir renuncia último_día preaviso baja_voluntaria despido finiquito
  dejar_la_empresa
wear: uniforme tarjeta_de_empleado =tarjeta acreditación ropa_de_trabajo =ropa calzado credencial
  zapatos_de_seguridad zapatos botas chaqueta pantalón taquilla
team: responsable =jefe =jefa jefe_de_equipo supervisor encargad contacto contactar coordinador
personal: dirección mudado mudanza mudar cuenta_bancaria número_de_cuenta datos_personales
  datos_bancarios iban estado_civil domicilio casado casada apellido cambiado_de_nombre emergencia^2
access: contraseña iniciar_sesión usuario =acceso login bloquead restablec =clave cuenta_bloqueada
  =bloqueada código
social: fiesta =cena navidad actividad_de_equipo evento excursión cumpleaños team_building
  celebración comida_de_empresa fiesta_de_verano cena_de_empresa
""",
    "it": """
stop: vorrei voglio può puoi fare fatto essere stato anche però perché se già ancora oggi domani qui
  qualcosa tutto tutti ci vi loro questa quello quella sul sulla dal dalla nei negli molto il lo gli
  la le della del di e è che non sono una un per con mio mia grazie ciao come quando dove cosa chi
  posso ho mi ti si al alla nel nella da ma questo quest sei in uno dei delle agli alle sua suo
pos: grazie ottim perfett fantastic eccellent =utile benissimo gentilissim splendid
neg: frustr inaccettabil arrabbiat deluso delusione vergogna pessim schifo assurd ridicol scandalos
  infastidit seccat
not: non mai nessuno niente
sched: turno turni orario calendario =turnazione
leave: ferie permesso vacanz giorni_liberi congedo festività pasqua congedo_parentale giorno_festivo
sick: malat medic certificato_medico infortunio febbre ospedale guarig mutua influenza raffreddore
  dolore incidente ferit fatto_male mal_di_schiena
salary: stipendio busta_paga =paga cedolino retribuzione pagato tredicesima straordinari rimborso
  premio aumento pagamento
contract: contratto part_time^1 tempo_pieno tempo_determinato tempo_indeterminato ore_settimanali
onboard: primo_giorno inserimento =tutor onboarding affiancamento accoglienza nuovo_assunto
  prima_settimana formazione_iniziale
offboard: dimission dimess ultimo_giorno preavviso licenzia cessazione fine_rapporto =tfr
  lasciare_l_azienda
wear: divisa uniforme badge tesserino abbigliamento scarpe_antinfortunistiche indumenti cartellino
  scarpe giacca pantaloni armadietto
team: responsabile capoturno^2 capo_reparto =capo caposquadra supervisore manager contatt referente
  coordinatore superiore
personal: indirizzo trasloc cambiato_casa coordinate_bancarie iban dati_personali conto_corrente
  stato_civile codice_fiscale sposat cognome cambiato_nome emergenz^2
access: password login acced =accesso credenziali reimpost bloccat nome_utente account_bloccato
  =bloccato codice
social: festa =cena cena_di_squadra natale evento aperitivo team_building gita compleanno
  festa_d_estate cena_aziendale
""",
    "pt": """
stop: quero pode podes fazer tem também mas porque se ainda hoje amanhã aqui algo tudo todos nos lhe
  seus suas isto esse essa outro outra desde até sem sobre entre uns umas pela pelo estou o os a as
  da do das dos e é não um uma para com meu minha obrigado olá você como quando onde que de em no na
  eu tenho posso isso este esta há muito já mais ao
pos: obrigad ótimo perfeit excelente fantástic maravilh genial espetacular incrível =útil
neg: frustr inaceitável chatead irritad zangad decepcion desilud péssim horrível ridícul vergonha
  absurd furios
not: não nunca nem ninguém nada
sched: turno horário =escala escala_de_serviço
leave: férias folga licença dias_livres feriado páscoa licença_parental dia_feriado
sick: doente doença médic atestado =baixa baixa_médica hospital recupera gripe febre constipad dor
  acidente lesão magoei lesion
salary: salário vencimento recibo_de_vencimento ordenado =pago pagamento subsídio horas_extra prémio
  bónus remuneração recebi =receber
contract: contrato tempo_parcial^1 tempo_inteiro horas_semanais part_time^1 efetivo
onboard: primeiro_dia integração padrinho madrinha acolhimento onboarding =começo mentor
  primeira_semana formação_de_acolhimento
offboard: despedi demissão =demiti último_dia aviso_prévio rescisão sair_da_empresa
wear: farda fardamento uniforme cartão_de_funcionário =cartão crachá roupa_de_trabalho sapatos botas
  casaco calças cacifo
team: chefe chefia responsável supervisor gestor contact coordenador encarregad superior
personal: morada endereço mudei_de_casa =mudei mudança conta_bancária número_de_conta dados_pessoais
  iban =nif estado_civil casad apelido mudei_de_nome emergência^2
access: palavra_passe senha login =entrar redefinir bloquead iniciar_sessão utilizador acesso
  conta_bloqueada =bloqueada código
social: festa =jantar jantar_de_equipa natal evento convívio team_building almoço aniversário
  confraterniz festa_de_verão jantar_de_empresa
""",
    "nl": """
stop: wil kunnen kun zou moet mag doen gedaan ook maar omdat als dan nu vandaag morgen hier daar
  iets alles wij ons onze hun zijn haar hem deze die waarom welke heeft hebben bij naar om de het
  een en is ik niet van je met voor mijn dank hoe wat graag heb hallo dat er op in te wordt kan
  wanneer waar wie nog dit u jij we al
pos: bedankt dank =top perfect super geweldig fijn uitstekend handig blij tevreden fantastisch
neg: frustr onacceptabel geïrriteerd geirriteerd irritant boos teleurgesteld slecht belachelijk
  waardeloos schandalig kwaad ontevreden
not: niet geen nooit niks niemand
sched: rooster *rooster *dienst ruil planning werktijd
leave: vakantie *vakantie verlof *verlof =vrij vrije_dag vrij_vragen afwezig feestdag =atv =adv
  pasen ouderschapsverlof =vrij_nemen vrije_dagen snipperdag
sick: ziek *ziek ziekteverlof dokter *dokter *arts ziekmelding bedrijfsarts operatie beter_melden
  griep koorts verkouden pijn ongeluk geblesseerd bezeerd gewond
salary: salaris loon *loon betaald betaling uitbetal vakantiegeld toeslag bonus overuren declaratie
  reiskosten uitbetaald
contract: contract *contract parttime *parttime fulltime uren_per_week dienstverband oproepkracht
onboard: eerste_dag *inwerk buddy onboarding introductie nieuwe_medewerker ik_begin^1 eerste_week
  introductiedag eerste_werkdag
offboard: ontslag *ontslag laatste_werkdag laatste_dag opzeg *opzeg uit_dienst afscheid exitgesprek
  baan_opzeggen
wear: bedrijfskleding *kleding uniform personeelspas toegangspas pasje badge naampas werkschoenen
  *schoenen jas broek kluisje
team: leidinggevend *leidinggevend teamleider^2 *leider manager contactpersoon contactgegevens
  contact bereik chef supervisor
personal: adres *adres verhuisd verhuiz rekeningnummer^2 bankgegevens iban persoonlijke_gegevens
  personalia naamswijziging burgerlijke_staat getrouwd achternaam *noodgeval^2
access: wachtwoord *wachtwoord inlog *inlog account gebruikersnaam geblokkeerd account_geblokkeerd
  code
social: *uitje *borrel feest *feest personeelsfeest kerst barbecue =bbq evenement teamactiviteit
  zomerfeest personeelsuitje
""",
}

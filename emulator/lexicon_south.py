"""Stand-in model vocabulary: Romanian, Bulgarian, Greek, Maltese.

Syntax: see :mod:`emulator.lexicon` (``stem``, ``=exact``, ``*part``, ``a_b``, ``^w``).
Maltese articles and particles are hyphenated (``il-paga``), which the tokenizer splits off.
"""

from __future__ import annotations

SOUTH: dict[str, str] = {
    "ro": """
stop: și este nu eu că un o pentru cu mulțumesc vă rog cum sunt meu mea la de în pe se mi am ce când
  unde cine care al ale sau dar mai ne te îmi tu această acest aș să
pos: mulțum mersi =super perfect excelent minunat grozav extraordinar
neg: frustr inacceptabil supărat nervos dezamăgit enervat groaznic oribil ridicol jenant nemulțumit
not: nu niciodată nici nimeni nimic
sched: =tura =tură =ture =turei =turele =turii orar *orar program_de_lucru =programul =schimbul
leave: concedi *concedi concedi_de_odihnă vacanț zile_libere =liber paște concediu_de_maternitate
  zi_liberă
sick: bolnav *bolnav boală medic *medic concedi_medical^3 spital recuper gripă gripa febr răcit
  durer accident rănit lovit accidentat
salary: salari *salari fluturaș *fluturaș plătește plata =plătit bonus ore_suplimentare =spor mărire
  prima_de_vacanță^3
contract: contract *contract normă normă_întreagă perioad_determinat ore_pe_săptămână act_adițional
onboard: prima_zi integrar *integrar mentor =încep^1 onboarding angajat_nou prima_săptămână
offboard: demisi *demisi ultima_zi preaviz *preaviz încetare
wear: uniform *uniform legitimați ecuson echipament_de_lucru haine_de_lucru badge card_de_acces
  pantofi bocanci geacă pantaloni dulap
team: șef *șef contact *contact coordonator manager superior responsabil
personal: adres *adres =mutat cont_bancar date_personale iban stare_civilă căsătorit
  numele_de_familie urgenț^2
access: parol *parol autentific *autentific login logare conectez resetez blocat cod
social: petrecer *petrecer team_building eveniment crăciun *crăciun ieșire cină aniversar
  petrecerea_de_vară
""",
    "bg": """
stop: и е не аз да на за с благодаря моля как съм моят това ми ме ли се в от къде кога кой какво но
  или вече има ще са тя той ти си моя мога искам
pos: благодар супер чудесн страхотн отличн перфектн прекрасн полезн доволен
neg: дразн недопустим ядосан разочарован ужасн възмутен нервира неприемлив отвратителн недоволен
not: не никога няма
sched: смян *смян =смени график *график работно_време размен
leave: отпуск *отпуск почивн свободн_ден великден майчинств
sick: болен болна *болен болнич *болнич лекар *лекар боледу оздравя грип температур настин болк
  злополук контузи нараня
salary: заплат *заплат =фиш фиша фишът изплат бонус извънредн възнагражд увеличени_на_заплат
contract: договор *договор непълен_работен^1 пълен_работен срочн часове_седмично
onboard: първи_ден въвеждан *въвеждан ментор =започвам^1 нов_служител първа_седмиц
offboard: предизвест *предизвест напуск последн оставка освобожд
wear: облекл *облекл униформ служебн =карта =картата бадж пропуск обувк яке панталон шкафч
team: ръководител^2 *ръководител шеф началник свърж контакт *контакт мениджър
personal: адрес *адрес преместих сметк банков лични_данни фамилия омъжих ожених фамилн спешн^2
access: парол *парол вход вляза влизане потребителско блокиран логин код
social: парти *парти тиймбилдинг събити коледн празненство вечеря лятно_парти
""",
    "el": """
stop: και είναι δεν εγώ να το για με ευχαριστώ παρακαλώ πώς είμαι μου η ο τη την τον της του τα οι
  στο στην στη από θα σας μια ένα αυτό πότε πού ποιος τι έχω μπορώ
pos: ευχαριστ τέλει εξαιρετικ υπέροχ φανταστικ άψογ βοηθητικ
neg: απογοητευτικ απαράδεκτ εκνευρισμέν θυμωμέν απαίσι χάλια εξοργιστικ άχρηστ νευριασμέν ενοχλημέν
not: δεν μην όχι ούτε
sched: βάρδι *βάρδι πρόγραμμ ωράριο
leave: άδει διακοπ ρεπό κανονική_άδει πάσχα γονική_άδει
sick: άρρωστ γιατρ *γιατρ αναρρωτικ ασθένει νοσοκομεί ανάρρωση αναρρωτική_άδει^3 γρίπη πυρετ
  κρυολόγημ πόνο ατύχημα τραυματ
salary: μισθ *μισθ εκκαθάριση πληρω αποδοχ μπόνους υπερωρί επίδομα αύξηση
contract: σύμβασ συμβάσ συμβασ μερική_απασχόληση^1 πλήρη_απασχόληση ορισμένου_χρόνου
onboard: πρώτη_μέρα ένταξ μέντορ εισαγωγικ =ξεκινάω^1 onboarding πρώτη_εβδομάδα
offboard: παραίτη παραιτ τελευταία_μέρα προειδοποίηση αποχώρηση απόλυση
wear: στολή στολές κάρτα κονκάρδα ρούχα_εργασίας παπούτσια μπουφάν παντελόνι ντουλάπι
team: προϊστάμεν^2 προϊσταμέν^2 υπεύθυν επικοινων διευθυντ μάνατζερ
personal: διεύθυνσ μετακόμισ λογαριασμ τραπεζικ iban παντρεύτηκα επώνυμ έκτακτ^2
access: κωδικ *κωδικ σύνδεσ συνδεθ συνθηματικ κλειδώθηκ επαναφορ login κλειδωμέν κωδικός
social: εκδήλωσ *εκδήλωσ πάρτι χριστουγενν γιορτ team_building καλοκαιρινό_πάρτι
""",
    "mt": """
stop: u huwa hija ma jien li ta għal grazzi jekk jogħġbok kif tiegħi il l is it ix id fil tal mill
  minn dan din fuq meta fejn min x għandi nista se qed hemm biex ukoll tiegħek hu hi lil tat tax
pos: grazzi eċċellenti perfett sabiħ fantastiku =super aċċettabbli
neg: frustr inaċċettabbli irrabjat ddiżappuntat terribbli orribbli ridikolu
not: ma mhux mhix qatt
sched: xift *xift skeda *skeda ħinijiet =rota
leave: vaganz *vaganz btala =leave għid
sick: marid *marid mard tabib *tabib ċertifikat_mediku mediku sick_leave sptar influwenza deni
  weġġajt
salary: =paga payslip *payslip salarju *ħallas bonus sahra żieda
contract: kuntratt *kuntratt part_time^1 full_time sigħat_fil_ġimgħa
onboard: ewwel_jum induction onboarding mentor =nibda^1 impjegat_ġdid l_ewwel_ġimgħa
offboard: riżenj *riżenj aħħar_jum perjodu_ta_avviż terminazzjoni nitlaq
wear: uniform *uniform badge ħwejjeġ_tax_xogħol żarbun żraben ġakketta qalziet
team: superjur^2 *superjur =kap kuntatt *kuntatt manager team_leader supervisor
personal: indirizz *indirizz kont_tal_bank dettalji_personali iban kunjom iżżewwiġt emerġenza^2
access: password *password login =nidħol username imsakkar kodiċi
social: festa *festa milied attività party team_building ikla festa_tas_sajf
""",
}

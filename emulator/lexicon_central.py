"""Stand-in model vocabulary: Polish, Czech, Slovak, Hungarian, Slovenian, Croatian.

Syntax: see :mod:`emulator.lexicon` (``stem``, ``=exact``, ``*part``, ``a_b``, ``^w``).
"""

from __future__ import annotations

CENTRAL: dict[str, str] = {
    "pl": """
stop: chcę chciałbym chciałabym możesz zrobić też bo jeśli więc dziś jutro tutaj coś wszystko my nas
  nasz ich jego jej ten tego tej dlaczego który która po przed przez od bardzo i jest nie się że na
  to jak mam proszę dziękuję moja mój czy dla w z do o co kiedy gdzie kto jestem być mi mnie ta te
  już tak ale lub oraz może mogę są twój muszę będzie
pos: dziękuj dzięki =super świetn idealn doskonał wspaniał pomocn rewelac zadowolon
neg: frustruj niedopuszczaln zdenerwowan wkurz rozczarowan skandal okropn fataln beznadziejn
  nieakceptowaln irytuj niezadowolon
not: nie nigdy nikt nic
sched: grafik *grafik zmian harmonogram godziny_pracy dyżur
leave: urlop *urlop =wolne dzień_wolny wakacj wielkanoc urlop_rodzicielski
sick: chor zwolnieni_lekarsk lekarz *lekarz lekarsk szpital wyzdrowie grypa grypę gorączk przeziębi
  ból wypadek kontuzj uraz
salary: pensj wynagrodz *wynagrodz wypłat premi nadgodzin =płaca =płacy przelew podwyżk
contract: umow *umow etat *etat wymiar_czasu czas_określony czas_nieokreślony godzin_tygodniowo
  aneks
onboard: pierwsz_dzie pierwsz_dni wdroże *wdroże opiekun onboarding =zaczynam^1 nowy_pracownik
  pierwsz_tydzień szkoleni_wstępn
offboard: wypowiedz *wypowiedz ostatn_dzie ostatn_dni rozwiązani_umow^3 odejści świadectwo_pracy
wear: odzież *odzież identyfikator uniform mundur strój legitymacj karta_dostępu^3 obuwie buty kurtk
  spodnie szafk
team: przełożon *przełożon kierownik^2 *kierownik szef skontakt kontakt *kontakt lider koordynator
personal: adres *adres przeprowadz numer_kont kont_bank dane_osobowe nazwisk stan_cywilny pesel ślub
  wyszłam_za_mąż ożeniłem awaryjn^2 nagłego_wypadku
access: hasł logow zalog login zablokowan zresetow dostęp kod
social: impreza *impreza integracyj wigili *wigili wydarzeni świąteczn grill piknik letni_imprez
""",
    "cs": """
stop: chtěl chtěla můžeš udělat taky protože jestli tak dnes zítra tady něco všechno my nás náš
  jejich jeho její tento tato proč která po před přes od a je se že na to jak mám prosím děkuji můj
  moje pro není jsem v ve z do o co kdy kde kdo mi mě ten ta už ale nebo by můžu jsou si tvůj jste
  bude mít já nikdo potřebuji chci také ještě velmi který dotaz den dostanu najdu
pos: děkuj díky =super skvěl výborn perfektn paráda úžasn spokojen
neg: frustruj nepřijateln naštvan zklaman hrozn příšern otrav rozčilen nespokojen
not: ne nikdy nikdo nic
sched: směn *směn rozpis harmonogram služb
leave: dovolen volno =volna náhradní_volno velikonoc rodičovsk
sick: nemoc neschopen lékař *lékař marod zotav chřipk horečk nachlaz bolest úraz zraněn
salary: mzd =plat =platu =platy výplat *výplat vyplac vyplác odměn přesčas prémi zvýšení_platu
contract: smlouv *smlouv úvaz *úvaz doba_určit hodin_týdně pracovní_poměr dodatek
onboard: první_den nastup nástup zaškol *zaškol patron adaptační onboarding nový_zaměstnanec
  první_týden
offboard: výpově *výpově posledn_den posledn_pracovní odchod ukončení_pracovní
wear: oblečen *oblečen pracovní_oděv uniform =karta =kartu =karty zaměstnaneck_kart jmenovk boty
  obuv bund kalhot skříňk
team: vedouc^2 nadřízen šéf mistr kontakt *kontakt
personal: adres přestěhov číslo_účtu bankovn_účt osobní_údaj příjmení rodinný_stav vdala oženil
  nouz^2
access: hesl přihlás přihláš přihlaš login zablokovan kód
social: večír *večír teambuilding týmov_akc firemní_akc oslav letní_večír
""",
    "sk": """
stop: a je sa že na to ako mám prosím ďakujem môj moja pre nie som v vo z do o čo kedy kde kto mi ma
  ten tá už ale alebo by môžem sú si tvoj ste bude mať aj ešte ktorý tiež veľmi môžeš potrebujem
  dostanem nájdem chcem prečo ja nikto niečo otázku deň nové
pos: ďakuj vďak =super výborn skvel perfektn úžasn paráda spokojn
neg: frustruj neprijateľn nahnevan sklaman hrozn otrav nespokojn strašn
not: nie ne nikdy nikto nič
sched: =zmena =zmenu =zmeny =zmien =zmenou =zmene rozpis služb
leave: dovolenk voľno voľna veľkonoč rodičovsk
sick: chor =pn práceneschopn *neschopn lekár *lekár nemocensk zotav chrípk horúčk prechlad bolesť
  úraz zranen
salary: mzd =plat =platu výplat *výplat vyplat vyplác odmen prémi nadčas zvýšenie_platu
contract: zmluv *zmluv úväz *úväz dobu_určit hodín_týždenne pracovn_pomer dodatok
onboard: prvý_deň nastup nástup zaškol *zaškol patrón adaptačn onboarding prvý_týždeň
offboard: výpove *výpove posledn_deň posledn_pracovn odchod ukončen_pracovn
wear: oblečen *oblečen pracovn_odev uniform =karta =kartu =karty zamestnaneck_kart topánk obuv bund
  nohavic skrinka
team: vedúc^2 nadriaden šéf kontakt *kontakt majster
personal: adres presťahov číslo_účtu bankov_účt osobn_údaj priezvisk rodinný_stav vydala oženil
  núdz^2
access: hesl prihlás prihláse prihlasov login zablokovan kód
social: večier *večier teambuilding tímov_akci firemn_akci oslav letn_večier
""",
    "hu": """
stop: a az és nem hogy van egy én köszönöm kérem hogyan mi vagyok meg is ez el ki mikor hol mit de
  vagy csak már még lesz kell tudok lenne szia
pos: köszön köszi szuper tökéletes nagyszerű kiváló remek fantasztikus hasznos elégedett klassz
neg: frusztrál elfogadhatatlan bosszús bosszant dühös csalódott felháborító szörnyű borzalmas
  nevetséges ideges elégedetlen
not: nem sem ne soha
sched: műszak *műszak beosztás *beosztás munkarend *cserél ügyelet
leave: szabadság szabadnap pihenőnap húsvét gyes
sick: beteg *beteg betegszabadság orvos *orvos táppénz gyógyul műtét influenza láz megfáz fáj
  baleset sérül *sérül
salary: fizetés *fizetés =bér =bérem bérpapír *bérpapír bérszámfejt utal bónusz prémium túlóra
  munkabér fizetésemel
contract: szerződés *szerződés részmunkaidő *részmunkaidő teljes_munkaidő határozott_idejű heti_óra
onboard: első_nap betanul *betanul mentor beilleszked onboarding =kezdek^1 első_hét
offboard: felmond *felmond utolsó_munkanap utolsó_nap kilép munkaviszony_megszűn
wear: munkaruh *munkaruh egyenruh belépőkárty *kárty munkavédelmi_cipő névtábla badge cipő munkacipő
  kabát nadrág szekrény
team: vezető *vezető csoportvezet^2 *csoportvezet főnök elérhetőség kapcsolattartó műszakvezet^2
personal: cím *cím költöz *költöz bankszámla *bankszámla személyes_adat lakcím családi_állapot
  megházasod férjhez vezetéknev *vészhelyzet^2
access: jelszó *jelszó jelszav *jelszav bejelentkez *bejelentkez login felhasználónév zárol
  visszaállít kód
social: csapatépít *csapatépít buli *buli karácsony rendezvény *csapatprogram ünnepség party parti
  vacsora összejövetel nyári_buli
""",
    "sl": """
stop: in je ne jaz da na za z hvala prosim kako sem moj kaj v se mi me to ta že ali pa tudi bo si
  lahko moram kdaj kje kdo s od ti še bi rad rada imam pod zate več kakšno
pos: hval =super odličn krasn popoln čudovit zadovolj
neg: frustrir nesprejemljiv jezen razočaran grozn obupn nezadovolj razjarjen
not: ne nikoli ni nihče nič
sched: izmen *izmen razpored *razpored urnik menjav
leave: dopust *dopust prost_dan velikon starševsk
sick: bolan boln *boln zdravni *zdravni okreva gripa gripo vročin prehlad bolečin nesreč poškodb
salary: plač *plač izplač regres nadur povišic
contract: pogodb *pogodb krajš_delovn^1 poln_delovn določen_čas ur_na_teden zaposlitv
onboard: prvi_dan uvajanj *uvajanj mentor =začnem^1 novozaposlen prvi_teden
offboard: odpoved *odpoved zadnji_dan zadnji_delovni prekinitev
wear: oblačil *oblačil službeno_kartic kartic uniform značk čevlj obutev jakn hlač omaric
team: vodj^2 *vodj nadrejen *nadrejen šef kontakt *kontakt
personal: naslov preseli bančn_račun številk_račun osebn_podatk priimek davčn poročil nujn^2
access: geslo *gesl prijav login uporabnišk zaklenjen ponastav koda
social: zabav *zabav teambuilding druženj dogod piknik novoletn praznovan poletn_zabav
""",
    "hr": """
stop: i je ne ja da na za s hvala molim kako sam moj što li u se mi me to ta već ali ili bi mogu su
  si tvoj od kada gdje tko biti ću će trebam ovo ove sljedeći pod
pos: hval =super savršen odličn sjajn izvrsn divn zadovolj
neg: frustrir neprihvatljiv =ljut ljutit razočaran užasn grozn nezadovolj bijesan iznervir
not: ne nikad nije nitko ništa
sched: smjen *smjen raspored *raspored radno_vrijeme dežurstv
leave: godišnj_odmor odmor *odmor slobodn_dan dopust uskrs rodiljn roditeljsk
sick: bolest bolovanj *bolovanj liječni *liječni doznak oporav bolnic gripa gripu temperatur prehlad
  bol nesreć ozlijed
salary: plać *plać platn_list isplat bonus prekovremen regres naknad povišic
contract: ugovor *ugovor nepuno_radno^1 puno_radno određeno sati_tjedno radni_odnos
onboard: prvi_dan uvođenj *uvođenj mentor =počinjem^1 novozaposlen prvi_tjedan
offboard: otkaz *otkaz zadnji_dan zadnji_radni prestanak odlazak
wear: odjeć *odjeć služben_kartic kartic uniform cipele obuć jakn hlač ormarić
team: nadređen *nadređen voditelj^2 *voditelj šef kontakt *kontakt poslovođ
personal: adres *adres preseli bankovn_račun broj_račun osobn_podat prezime =oib udala oženio hitn^2
access: lozink *lozink prijav login korisničk zaključan resetir kod
social: zabav *zabav team_building teambuilding druženj božićn proslav domjen izlet ljetn_zabav
""",
}

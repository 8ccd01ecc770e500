"""Stand-in model vocabulary: Swedish, Danish, Norwegian, Finnish, Estonian, Latvian, Lithuanian.

Syntax: see :mod:`emulator.lexicon` (``stem``, ``=exact``, ``*part``, ``a_b``, ``^w``).
"""

from __future__ import annotations

NORTH: dict[str, str] = {
    "sv": """
stop: vill kunna skulle måste göra gjort också eftersom om då idag imorgon här där något allt vi oss
  vår våra deras hans hennes denna detta dessa varför vilken efter innan över och är jag inte det
  att en ett för med min mitt tack hej hur vad har den på i kan till av du ni som när var vem ska så
  nu eller men mig dig finns får blir behöver
pos: tack toppen perfekt =super jättebra fantastisk utmärkt underbar hjälpsam nöjd
neg: frustr oacceptabel irriterad =arg besviken dålig hemsk förbannad upprörd orimlig skandal löjlig
  värdelös missnöjd
not: inte ej aldrig ingen inget
sched: schema *schema =pass =passet arbetspass *nattpass kvällspass helgpass lördagspass passbyte
  byta_pass bemanning
leave: semester *semester ledig ledighet föräldraledig komp påsk föräldraledighet röd_dag
sick: sjuk *sjuk läkar *läkar vård opererad rehabilitering influensa feber förkyl ont olycka skada
  skadad
salary: lön *lön lönebesked utbetal ersättning bonus övertid traktamente utlägg löneförhöjning
contract: avtal *avtal kontrakt visstid *visstid deltid *deltid heltid tillsvidare timmar_i_veckan
  arbetstid sysselsättningsgrad tjänstgöringsgrad
onboard: introduktion *introduktion först_dag fadder onboarding nyanställd mentor jag_börjar^1
  först_veck
offboard: säga_upp sagt_upp uppsägning *uppsägning sista_dag sista_arbetsdag avslut slutlön avsked
wear: arbetskläder *kläder passerkort *passerkort id_kort ersättningskort tjänstekort uniform
  skyddsskor namnbricka badge *skor jacka byxor skåp
team: chef *chef teamledar^2 *ledare närmaste_chef kontaktuppgift kontakt ansvarig arbetsledare
  förman
personal: adress *adress flytta kontonummer bankkonto personuppgift personnummer namnbyte civilstånd
  anhörig bankuppgift gift_mig efternamn nödfall^2
access: lösenord *lösenord logga inloggning *inlogg användarnamn =låst återställ bankid kod
social: fest *fest teamaktivitet *aktivitet julbord afterwork kickoff teambuilding firande middag
  sommarfest
""",
    "da": """
stop: kunne skulle måtte gøre gjort også fordi hvis så idag her der noget alt vi os vores deres hans
  hendes denne dette disse hvorfor hvilken inden over og er jeg ikke det at en et for med min mit
  tak hej hvordan hvad har den på i om kan til af du de som hvornår hvor hvem skal nu eller men vil
  gerne mig dig meget får efter mere nogen uge dit sit end finder hjælpe lige næste jo søge forstået
  ud tage uger op dage
pos: tak =super perfekt fantastisk fremragende glimrende dejlig hjælpsom tilfreds
neg: frustr uacceptabel irriteret vred skuffet dårlig elendig frygtelig =sur utilfreds latterlig
  håbløs
not: ikke aldrig ingen intet
sched: vagt *vagt vagtplan *vagtplan skema vagtbytte
leave: ferie *ferie =fri fridag orlov afspadsering påske barsel helligdag
sick: syg *syg læge *læge raskmeld hospital influenza feber forkølet ondt ulykke skade skadet
salary: løn *løn lønseddel udbetal tillæg bonus overarbejde feriepenge pension lønforhøjelse
contract: kontrakt *kontrakt ansættelseskontrakt deltid *deltid fuldtid tidsbegrænset timer_om_ugen
  timetal ansættelsesbevis
onboard: først_dag introduktion *introduktion onboarding mentor ny_medarbejder nyansat jeg_starter^1
  først_uge
offboard: sagt_op sige_op opsigelse *opsigelse sidst_dag sidst_arbejdsdag fratræd afsked
wear: arbejdstøj *tøj adgangskort id_kort uniform sikkerhedssko navneskilt badge erstatningskort
  *sko jakke bukser skab
team: leder *leder teamleder^2 nærmeste_leder chef kontaktoplysning kontakt få_fat_i mellemleder
  afdelingsleder
personal: adresse *adresse flyttet flytte kontonummer bankoplysning personlige_oplysning =cpr
  navneændring civilstand pårørende gift efternavn nødstilfæld^2
access: adgangskode *adgangskode login logge_ind =logge kodeord brugernavn =låst nulstil mitid kode
social: julefrokost *frokost fest *fest teamarrangement *arrangement teambuilding fredagsbar udflugt
  =jul sommerfest
""",
    "no": """
stop: kunne skulle måtte gjøre gjort fordi idag her der noe alt vi oss vår våre deres hans hennes
  denne dette disse hvorfor hvilken før over og er jeg ikke det at en et for med min mitt takk hei
  hvordan hva har den på i om kan til av du de som når hvor hvem skal så også nå eller men vil må
  meg deg mye hvis får neste greit skjønner søke etter mer noen dere uke ditt sitt enn finner
  trenger hjelpe fra bare igjen uker ut ta opp dag dager
pos: takk supert =super perfekt flott fantastisk strålende utmerket hjelpsom fornøyd
neg: frustr uakseptabel irritert sint skuffet dårlig elendig forferdelig misfornøyd latterlig håpløs
not: ikke aldri ingen intet
sched: vakt *vakt vaktplan *vaktplan turnus *skift vaktbytte
leave: ferie *ferie =fri fridag permisjon avspasering påske foreldrepermisjon helligdag
sick: syk *syk lege *lege egenmelding *egenmelding operasjon influensa feber forkjølet vondt ulykke
  skade skadet
salary: lønn *lønn lønnsslipp utbetal tillegg bonus overtid feriepenger pensjon lønnsøkning
contract: kontrakt *kontrakt stilling *stilling deltid *deltid heltid midlertidig fast_ansatt
  timer_i_uken arbeidsavtale stillingsbrøk
onboard: først_dag opplæring *opplæring fadder onboarding introduksjon nyansatt mentor
  jeg_begynner^1 først_uke
offboard: sagt_opp si_opp oppsigelse *oppsigelse siste_dag siste_arbeidsdag =slutte avskjed
wear: arbeidsklær *klær adgangskort id_kort uniform vernesko navneskilt badge *sko jakke bukse skap
team: leder *leder teamleder^2 nærmeste_leder sjef kontaktinformasjon kontakt få_tak_i
  avdelingsleder mellomleder
personal: adresse *adresse flytt kontonummer bankopplysning personopplysning personalia
  fødselsnummer navneendring sivilstand pårørende gift etternavn nødstilfell^2
access: passord *passord innlogging *innlogg logge_inn =logge brukernavn =låst tilbakestill bankid
  kommer_ikke_inn kode
social: julebord *julebord fest *fest teamsamling *samling sommerfest firmafest personalfest
  teambuilding sosial arrangement
""",
    "fi": """
stop: ja on minä en ei se että kiitos hei miten mitä minun olen voi kanssa onko voinko milloin missä
  kuka mikä tämä tässä myös vielä mutta tai kun jos sinä hän ole minulla mistä kenelle pitää saan
  tätä juuri nyt vain sen siitä jo kaikki haluaisin voitko tänään ensi
pos: kiito kiitti mahtava täydelli loistava hienoa erinomai =super upea =kiva ihana hyödylli
neg: turhaut kohtuut ärsyyntyn ärsyttä pettynyt =huono kamala surkea vihainen järkyttävä naurettava
not: ei en eikä
sched: vuoro *vuoro työvuorolista aikataulu
leave: =loma lomaa lomalle lomalla loman lomani lomap lomat *vuosilom *kesälom vapaapäiv pääsiäi
  vanhempainvapa
sick: sairas *sairas sairaa sairau sairast lääkär *lääkär toipu leikkaus flunssa kuume vilustu kipu
  onnettomuus loukkaantu
salary: palk *palk palkkalaskelma palkkakuitti bonus ylityö lomaraha palkankorotus
contract: sopimu *sopimu määräaikai osa_aika^1 kokoaika tuntimäärä viikkotunni vakituinen
onboard: perehdy *perehdy ensimmäi_päiv =aloitan^1 uusi_työntekijä mentori kummi ensimmäi_viiko
offboard: irtisano *irtisano viimei_päiv viimei_työpäiv lopetan
wear: työvaat *vaate *vaatte kulkukort *kulkukort kortti univormu turvakengät nimikyltti badge
  turvakenk kengät takki housut kaappi
team: esihenkilö *esihenkilö esimie *esimie tiiminvetäjä^2 *vetäjä yhteystied tavoitan johtaja
  päällikkö työnjohtaja
personal: osoite osoitt *osoit =muutin muutto tilinumero *tilinumer pankkitili henkilötied
  pankkitied sukunimi siviilisääty naimisi sukunim *hätä^2
access: salasan *salasan kirjautu *kirjautu tunnus lukittu login sisään lukossa koodi
social: pikkujoulu *pikkujoulu tiimitapahtuma *tapahtuma juhla *juhla virkistys =tyky illanvietto
  bileet saunailta kesäjuhla
""",
    "et": """
stop: ja on ei mina see et aitäh palun kuidas mis olen minu tere kas ma mul sa sinu kus millal kes
  seda selle ka veel aga või kui siis oma saan nad me pean
pos: aitäh tänan =super suurepära =tore lahe imeline kasulik tänud täiuslik vinge
neg: frustr vastuvõetamat pahane pettun vihane =halb kohutav jube ärritav ärritunud naeruväärne
not: ei mitte pole
sched: vahetus *vahetus vahetada vahetuse graafik *graafik tööajakava
leave: puhkus *puhkus puhkust puhkuse vaba_päev põhipuhkus lihavõtted lapsehoolduspuhkus
sick: haige *haige haigus *haigus arst *arst tervene operatsioon gripp palavik külmetu valu õnnetus
  vigastu
salary: palk *palk palga *palga töötasu preemia ületunnid väljamakse palgatõus
contract: leping *leping tähtajali osalise_tööaja^1 täistööaeg töötun koormus
onboard: esime_päev sisseelami *sisseelami mentor =alustan^1 väljaõpe uus_töötaja esime_nädal
offboard: lahku viima_päev viima_tööpäev viimane_päev viimane_tööpäev etteteatami ülesütle
wear: töörõiva *rõiva tööriie *riie vormiriie töötajakaar *kaart *kaardi pääsukaar nimesilt badge
  jalanõu *kingad jope püksid kapp
team: juht *juht =juhi meeskonnajuh^2 *meeskonnajuh otsene_juht ülemus kontakt *kontakt ühendust
personal: aadress *aadress koli pangakonto *pangakont isikuandm *isikuandm kontonumb perekonnanimi
  elukoht abiellu perekonnanim hädaolukor^2
access: parool *parool sisselogi *sisselogi sisse_logi kasutajanimi lukus lähtesta login kood
social: üritus *üritus pidu *pidu jõulu suvepäev teambuilding suvepäevad
""",
    "lv": """
stop: un ir nav es ka uz par ar paldies lūdzu kā esmu mans kas man vai to tas tā kad kur kāds no pie
  jau arī bet var varu vēl mana tavs tu mēs būs manu
pos: paldies lielisk perfekt teicam brīnišķīg =super izcil noderīg apmierināt
neg: nomāc nepieņemam sadusmot dusmīg vīlies briesmīg kaitinoš neapmierināt šausmīg nepieļaujam
not: ne nav nekad nemaz
sched: maiņ *maiņ grafik *grafik darba_grafik
leave: atvaļinājum *atvaļinājum brīvdien brīv_dien lieldien bērnu_kopšanas
sick: slim *slim ārst *ārst darbnespēj atveseļo gripa drudzis saaukst sāp negadījum traum
salary: =alga algas *alga izmaks prēmij piemaks virsstund atalgojum algas_pielikum
contract: līgum *līgum nepiln_laik^1 piln_slodz slodz terminēt
onboard: pirm_dien ievadapmācīb *ievadapmācīb mentor =sāku^1 jaunais_darbinieks adaptācij pirm_nedēļ
offboard: pēdēj_dien pēdēj_darba aizeju_no_darba uzteikum *uzteikum atlaišan atlūgum aiziešan
wear: apģērb *apģērb darbinieka_kart =karti =karte formastērp uniform caurlaid apav jaka bikses
  skapīt
team: vadītāj^2 *vadītāj priekšniek sazin kontakt *kontakt
personal: adres *adres pārcēl bankas_kont konta_numur personas_dat uzvārd deklarēt apprecēj ārkārt^2
access: parol *parol pieslēg *pieslēg lietotājvārd bloķēt login atiestat bloķēts kods
social: pasākum *pasākum ballīt *ballīt ziemassvētk svinīb saliedēšan vasaras_svētk
""",
    "lt": """
stop: ir yra ne aš kad į už su ačiū prašau kaip esu mano kas man ar tai tą iš per jau dar bet tik
  gali galiu tavo kur kada koks šį labai turiu bus
pos: ačiū puik tobul nuostab šaunu =super naudinga patenkint dėkoju dėkui
neg: erzin nepriimtin susierzin pikt nusivyl baisu siaub nepatenkint apgailėtin
not: ne nėra niekada
sched: pamain *pamain grafik *grafik darbo_laik sukeist
leave: atostog *atostog laisv_dien velyk vaiko_priežiūros
sick: serg =liga ligos ligonin gydytoj *gydytoj nedarbingum *nedarbingum grip karščiav peršal skaud
  nelaiming sužeist trauma
salary: atlyginim *atlyginim algalap *algalap =alga išmokė išmok premij viršvaland
  atlyginimo_padidinim
contract: sutart *sutart ne_visą_darbo^1 terminuot valand_per_savait =etatas
onboard: pirm_dien įvadin *įvadin mentori =pradedu^1 naujok pirm_savait
offboard: paskutin_dien paskutin išeinu_iš_darbo įspėjim *įspėjim atleid išėjim
wear: drabuž *drabuž darbuotojo_kortel kortel uniform batai avaly striuk kelnės spintel
team: vadov^2 *vadov susisiek *susisiek kontakt *kontakt viršinink
personal: adres *adres persikrau banko_sąskait sąskait asmens_duomen pavard ištekėj vedžiau skubi^2
access: slaptažod *slaptažod prisijung *prisijung login užblokuot atkurt užrakint kodas
social: rengin *rengin vakarėl *vakarėl kalėd šventė *švent komandos_formavim vasaros_švent
""",
}

/// The pages' one stylesheet, served by Tiaki (`/assets/tiaki.css`): no fonts or scripts from anywhere.
enum Assets {
    static let css = """
        :root{--ink:#1a1a1a;--muted:#4a4a4a;--line:#6b6b6b;--accent:#0b5563;--error:#a4161a;--focus:#ffbf47;--bg:#fff}
        *{box-sizing:border-box}
        body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;font-size:1.0625rem;line-height:1.5;color:var(--ink);background:var(--bg)}
        a{color:var(--accent)}a:hover{text-decoration-thickness:3px}
        a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid var(--focus);outline-offset:2px;box-shadow:0 0 0 5px var(--ink)}
        .skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--focus);color:var(--ink);padding:.5rem}
        .top{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.75rem 1.25rem;border-bottom:4px solid var(--accent)}
        .top .brand{font-weight:700;font-size:1.25rem;margin:0}.top .brand a{text-decoration:none;color:var(--ink)}
        .top nav ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;margin:0;padding:0}
        .top .who{margin:0;color:var(--muted)}.top .lang{margin:0 0 0 auto}
        main{max-width:48rem;margin:0 auto;padding:1.25rem}
        .bottom{max-width:48rem;margin:2rem auto;padding:1rem 1.25rem;border-top:1px solid var(--line);color:var(--muted);font-size:.95rem}
        h1{font-size:2rem;line-height:1.2}h2{font-size:1.4rem;margin-top:2rem}
        .field{margin:1rem 0}label,legend{display:block;font-weight:600}
        legend{font-size:1.15rem;padding:0}
        fieldset{border:1px solid var(--line);padding:1rem;margin:1.25rem 0}
        input,select,textarea{font:inherit;padding:.4rem;border:2px solid var(--ink);max-width:100%}
        input:not([type=checkbox]):not([type=radio]),textarea{width:100%;max-width:36rem}
        input[type=checkbox]{width:1.4rem;height:1.4rem;margin-right:.5rem;vertical-align:middle}
        .choice{margin:.4rem 0;display:flex;align-items:center}.choice label{display:inline;font-weight:400}
        .hint{color:var(--muted);margin:.2rem 0}
        button,.button{font:inherit;font-weight:600;background:var(--accent);color:#fff;border:2px solid var(--accent);padding:.5rem 1rem;cursor:pointer;text-decoration:none;display:inline-block}
        button.secondary,.button.secondary{background:#fff;color:var(--accent)}
        button.danger{background:var(--error);border-color:var(--error)}
        input[type=radio]{width:1.4rem;height:1.4rem;margin-right:.5rem;vertical-align:middle}
        button.link{background:none;border:none;color:var(--accent);text-decoration:underline;padding:0;font-weight:400}
        .buttons{display:flex;gap:1rem;flex-wrap:wrap;margin:1.5rem 0}
        form.inline{display:inline}
        .error-summary{border:4px solid var(--error);padding:1rem;margin:1rem 0}
        .error-summary h2{margin-top:0}.error-summary a{color:var(--error);font-weight:600}
        .has-error{border-left:5px solid var(--error)}.field-error{color:var(--error);font-weight:600}
        .notice{border:4px solid var(--accent);padding:1rem}
        .card{border:1px solid var(--line);padding:.5rem 1rem;margin:1rem 0}
        .actions{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.75rem}
        .tiles{list-style:none;padding:0}.tiles li{border-left:5px solid var(--accent);padding:.25rem 1rem;margin:1rem 0}
        .tiles a{font-size:1.2rem;font-weight:600}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;border-bottom:1px solid var(--line);padding:.4rem .5rem .4rem 0;vertical-align:top}
        pre{white-space:pre-wrap;word-break:break-all;background:#f3f3f3;padding:.75rem;font-size:.9rem}
        .meta{color:var(--muted);font-size:.95rem}
        .visually-hidden{position:absolute!important;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
        .sheet-part{margin-bottom:2rem}.sheet dt{font-weight:700;margin-top:.6rem}.sheet dd{margin:0 0 .4rem 0}
        .banner{border-left:8px solid var(--accent);background:#e8f3f4;padding:.5rem 1rem;margin:1rem 0}
        .facts dt{font-weight:700}.facts dd{margin:0 0 .5rem 0}
        .sign{margin-top:1.5rem;display:flex;flex-wrap:wrap;gap:2rem}
        .links a{margin-right:1rem}
        .findings{list-style:none;padding:0}
        @media (max-width:40rem){
          table.cards,table.cards tbody,table.cards tr,table.cards td,table.cards th{display:block;width:100%}
          table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
          table.cards tr{border:1px solid var(--line);margin:0 0 1rem 0;padding:.5rem}
          table.cards td,table.cards th{border:none;padding:.25rem 0}
          table.cards td[data-label]::before{content:attr(data-label) ": ";font-weight:700}
          .top .lang{margin:0}
          pre{font-size:.8rem}
        }
        @media print{
          .top,.bottom,.no-print,.skip{display:none!important}
          body{font-size:10.5pt}main{max-width:none;padding:0}
          .sheet.both{display:grid;grid-template-columns:1fr 1fr;gap:1.5rem}
          .sheet h1{font-size:15pt}a{color:var(--ink);text-decoration:none}
          .sheet-part{page-break-after:always}.sheet.both .sheet-part{page-break-after:auto}
          .banner{display:none}
          @page{size:A4;margin:14mm}
        }

        """
}
